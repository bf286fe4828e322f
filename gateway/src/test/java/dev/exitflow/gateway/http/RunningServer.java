package dev.exitflow.gateway.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** A real server on 127.0.0.1 and a free port, with the built-in model, for tests over real sockets. */
final class RunningServer implements AutoCloseable {
  final ActorSystem<Void> system;
  final EncoderRuntime runtime;
  final ExitflowServer server;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  RunningServer(String overrides) {
    Config config = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
    system = ActorSystem.create(Behaviors.empty(), "gateway-test", config);
    GatewayMetrics metrics = new GatewayMetrics();
    runtime = EncoderRuntime.start(system,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), config, metrics);
    runtime.ready().toCompletableFuture().join();
    server = ExitflowServer.start(system, runtime, GatewaySettings.create(config).withPort(0), metrics)
        .toCompletableFuture().join();
  }

  String base() {
    return "http://127.0.0.1:" + server.port();
  }

  HttpResponse<String> post(String path, String json, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    server.stop().toCompletableFuture().join();
    runtime.stop().toCompletableFuture().join();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
  }
}
