package dev.exitflow.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.RuntimeStats;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What SIGTERM does to `exitflow serve`: requests in flight finish, then the port closes and the system stops. */
class ExitflowServiceTest {

  @Test
  void shutdownFinishesWhatIsInFlightThenStops() throws Exception {
    Config config = ConfigFactory.parseString("exitflow.gateway { port = 0, kafka = off }").withFallback(ConfigFactory.load());
    ExitflowService service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), GatewaySettings.create(config));
    service.runtime().ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    String url = "http://127.0.0.1:" + service.server().port() + "/v1/embeddings";
    HttpClient http = HttpClient.newHttpClient();

    // 64 requests of 8 inputs: admitted within milliseconds, computed over a second or more.
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    String inputs = String.join(", ", java.util.Collections.nCopies(8, "\"one of eight inputs of a few words\""));
    for (int i = 0; i < 64; i++) {
      inFlight.add(http.sendAsync(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"request " + i + "\", " + inputs + "]}"))
          .build(), HttpResponse.BodyHandlers.ofString()));
    }
    int inputsSent = 64 * 9;
    long deadline = System.nanoTime() + 30_000_000_000L;
    RuntimeStats atShutdown = service.runtime().stats().toCompletableFuture().get();
    while (atShutdown.admitted() < inputsSent && System.nanoTime() < deadline) {
      Thread.sleep(5);
      atShutdown = service.runtime().stats().toCompletableFuture().get();
    }
    long unanswered = inFlight.stream().filter(f -> !f.isDone()).count();
    service.shutdown().toCompletableFuture().get(90, TimeUnit.SECONDS);

    assertEquals(inputsSent, atShutdown.admitted(), "every input admitted before the shutdown: " + atShutdown);
    assertTrue(atShutdown.inFlight() > 0, "inputs were in flight when the shutdown began: " + atShutdown);
    assertTrue(unanswered > 0, "requests were waiting for their answers when the shutdown began");
    for (CompletableFuture<HttpResponse<String>> f : inFlight) {
      HttpResponse<String> r = f.get(10, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode(), r.body());
    }
    assertTrue(service.system().getWhenTerminated().toCompletableFuture().isDone());
    Exception refused = assertThrows(Exception.class, () -> http.send(HttpRequest.newBuilder(URI.create(url))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()));
    assertTrue(refused instanceof ConnectException || refused.getCause() instanceof ConnectException, refused.toString());
  }
}
