package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
  @Test
  void sixHundredConcurrentConnectionsAreAllAnswered() throws Exception {
    try (RunningServer s = new RunningServer("")) {
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
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
      assertEquals(Map.of("200", 600), outcomes);
    }
  }
}
