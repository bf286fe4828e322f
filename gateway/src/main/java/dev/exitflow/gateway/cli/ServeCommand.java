package dev.exitflow.gateway.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.gateway.http.ExitflowServer;
import dev.exitflow.gateway.http.GatewayMetrics;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code exitflow serve}: the HTTP and WebSocket gateway in front of the actor runtime, until
 * SIGTERM, which unbinds, finishes what is in flight and exits.
 */
@Command(name = "serve", description = "Serve the model over HTTP and WebSocket (default 127.0.0.1:8080).")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--port", description = "Port (default: exitflow.gateway.port, 8080; 0 picks a free one)")
  Integer port;

  @Option(names = "--host", description = "Bind address (default: exitflow.gateway.host, 127.0.0.1)")
  String host;

  @Mixin ModelOption model;

  @Override
  public Integer call() {
    Config config = ConfigFactory.load();
    GatewaySettings settings = GatewaySettings.create(config);
    if (port != null) {
      settings = settings.withPort(port);
    }
    if (host != null) {
      settings = settings.withHost(host);
    }
    ModelDescriptor descriptor = model.resolve();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow", config);
    GatewayMetrics metrics = new GatewayMetrics();
    EncoderRuntime runtime = EncoderRuntime.start(system, descriptor, config, metrics);
    ExitflowServer server = ExitflowServer.start(system, runtime, settings, metrics).toCompletableFuture().join();

    CoordinatedShutdown shutdown = CoordinatedShutdown.get(Adapter.toClassic(system));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind-and-finish", server::stop);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "runtime-drain", runtime::stop);
    runtime.ready().thenRun(() -> System.err.printf("exitflow: ready: %s on http://%s:%d (exits %s)%n",
        descriptor.name(), server.host(), server.port(), descriptor.exitLayers()));
    System.err.printf("exitflow: listening on http://%s:%d, loading %s...%n", server.host(), server.port(),
        descriptor.name());
    system.getWhenTerminated().toCompletableFuture().join();
    return 0;
  }

}
