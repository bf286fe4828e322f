package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Six hundred clients connecting at once all get their answer. With Pekko HTTP's default listen
 * backlog of 100, dozens of such connections were closed without a response.
 */
class ConnectionBurstTest {
  private static final int CLIENTS = 600;
  private static final Path SOMAXCONN = Path.of("/proc/sys/net/core/somaxconn");

  @Test
  void sixHundredConcurrentConnectionsAreAllAnswered() throws Exception {
    // The kernel caps a listen backlog (exitflow.gateway.backlog = 1024) at net.core.somaxconn.
    if (Files.isReadable(SOMAXCONN)) {
      // Not Files.readString: on JDK 17 it returns "4" of a /proc file holding "4096" (size 0, one byte read).
      int somaxconn = Integer.parseInt(Files.readAllLines(SOMAXCONN).get(0).trim());
      assumeTrue(somaxconn >= CLIENTS, "net.core.somaxconn = " + somaxconn + " caps the listen backlog below the "
          + CLIENTS + " connections this test opens at once; raise it (sysctl -w net.core.somaxconn=1024) to run it");
    }
    try (RunningServer s = new RunningServer("")) {
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        all.add(s.http.sendAsync(HttpRequest.newBuilder(URI.create(s.base() + "/v1/embed"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"client " + i + " connects\", \"exit\": \"shallow\"}"))
            .build(), HttpResponse.BodyHandlers.ofString()));
      }
      Map<String, Integer> outcomes = new TreeMap<>();
      for (CompletableFuture<HttpResponse<String>> f : all) {
        try {
          outcomes.merge(String.valueOf(f.get(60, TimeUnit.SECONDS).statusCode()), 1, Integer::sum);
        } catch (java.util.concurrent.ExecutionException e) {
          outcomes.merge(String.valueOf(e.getCause()), 1, Integer::sum);
        }
      }
      assertEquals(Map.of("200", CLIENTS), outcomes);
    }
  }
}
