package dev.exitflow.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
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

    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      inFlight.add(http.sendAsync(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"request " + i + " of a few words\", \"and one more\"]}"))
          .build(), HttpResponse.BodyHandlers.ofString()));
    }
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (service.runtime().stats().toCompletableFuture().get().admitted() < 128 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    service.shutdown().toCompletableFuture().get(90, TimeUnit.SECONDS);

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
