package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SIGTERM at 20 moments of {@code serve}'s life, with the default Kafka set-up (embedded broker):
 * 12 during start-up (while the stages load, the runtime opens its sessions, the broker formats or
 * recovers its log and the pipeline starts) and 8 under HTTP load. Every time the process exits 0
 * and leaves no {@code hs_err_pid} file: no native crash, whatever is running.
 *
 * <p>Moments count from the process's start; the first is 1 s, after {@code main} has taken the
 * signals over (before it, the JVM's own handling applies and nothing has started).
 */
class SigtermAnyMomentTest {
  private static final int DURING_START_UP = 12;
  private static final int UNDER_LOAD = 8;

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void everySigtermExitsZeroWithoutANativeCrash() throws Exception {
    Path dir = Path.of("target/sigterm-moments").toAbsolutePath();
    KafkaRestartTest.deleteRecursively(dir);
    Path data = dir.resolve("data");
    int kafkaPort = ClusterProcesses.freePort();
    Map<String, Integer> exits = new TreeMap<>();
    for (int i = 0; i < DURING_START_UP + UNDER_LOAD; i++) {
      ServeProcess serve = ServeProcess.start(dir, "serve-" + i + ".log", data, kafkaPort);
      String moment;
      try {
        if (i < DURING_START_UP) {
          long delayMs = 1_000 + i * 600L; // 1.0 s to 7.6 s: compile, sessions, broker, pipeline
          Thread.sleep(delayMs);
          moment = "start-up +" + delayMs + " ms";
          serve.process.destroy();
        } else {
          String url = serve.awaitReady();
          moment = "under load +" + underLoad(url, serve, 200 + (i - DURING_START_UP) * 250L) + " ms";
        }
        int code = serve.awaitExit(120);
        exits.put(String.format("%02d %s", i, moment), code);
        assertEquals(0, code, moment + ":\n" + Files.readString(serve.log));
        assertTrue(serve.crashFiles().isEmpty(), moment + ": native crash " + serve.crashFiles());
        assertTrue(!Files.readString(serve.log).contains("SIGSEGV"), moment + ": SIGSEGV in the log");
      } finally {
        serve.process.destroyForcibly();
      }
    }
    exits.forEach((moment, code) -> System.out.printf("SIGTERM at %s: exit %d%n", moment, code));
  }

  /**
   * Sends requests back to back from 4 clients and SIGTERMs {@code delayMs} after the first answer
   * (the first requests warm the sessions up, which takes longer on a loaded machine). Each client goes
   * on until the server turns it away; requests in flight at the signal must finish (200), so the
   * one event that ends a client is a 503 (the drain's answer) or a refused connection (after the
   * unbind), never a connection closed under a request.
   */
  private static long underLoad(String url, ServeProcess serve, long delayMs) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    ExecutorService clients = Executors.newFixedThreadPool(4);
    List<java.util.concurrent.Future<String>> ends = new ArrayList<>();
    Map<Integer, Integer> served = new ConcurrentHashMap<>();
    for (int t = 0; t < 4; t++) {
      ends.add(clients.submit(() -> {
        while (true) {
          try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/embeddings"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"a request in flight at shutdown\", "
                    + "\"and another one\"], \"exit\": \"deep\"}")).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
              return r.statusCode() + " " + r.body();
            }
            served.merge(200, 1, Integer::sum);
          } catch (java.net.ConnectException e) {
            return "refused";
          } catch (java.io.IOException e) {
            return "failed: " + e;
          }
        }
      }));
    }
    long firstAnswer = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (served.isEmpty() && System.nanoTime() < firstAnswer && ends.stream().noneMatch(f -> f.isDone())) {
      Thread.sleep(5);
    }
    assertTrue(served.getOrDefault(200, 0) > 0, "no request was served within 60 s of readiness");
    Thread.sleep(delayMs);
    serve.process.destroy();
    for (var end : ends) {
      String how = end.get(120, TimeUnit.SECONDS);
      assertTrue(how.equals("refused") || how.startsWith("503 ") && how.contains("shutting_down"),
          "a client ended with " + how);
    }
    clients.shutdown();
    return delayMs;
  }
}
