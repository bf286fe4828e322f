package dev.exitflow.gateway.http;

import dev.exitflow.actors.EncoderRuntime;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;

/** The HTTP server: binds the routes, and on stop finishes what is in flight before unbinding. */
public final class ExitflowServer {
  private final ServerBinding binding;
  private final GatewaySettings settings;

  private ExitflowServer(ServerBinding binding, GatewaySettings settings) {
    this.binding = binding;
    this.settings = settings;
  }

  public static CompletionStage<ExitflowServer> start(ActorSystem<?> system, EncoderRuntime runtime,
      GatewaySettings settings, GatewayMetrics metrics) {
    ExitflowRoutes routes = new ExitflowRoutes(runtime, settings, metrics, Materializer.matFromSystem(system));
    return bind(system, settings, routes.routes());
  }

  /** The server of a worker-only cluster node: health endpoints, ready once the node is up in the cluster. */
  public static CompletionStage<ExitflowServer> startWorkerNode(ActorSystem<?> system, GatewaySettings settings) {
    return bind(system, settings, WorkerNodeRoutes.routes(system));
  }

  private static CompletionStage<ExitflowServer> bind(ActorSystem<?> system, GatewaySettings settings, Route routes) {
    return Http.get(system).newServerAt(settings.host(), settings.port())
        .withSettings(ServerSettings.create(Adapter.toClassic(system)).withBacklog(settings.backlog()))
        .bind(routes)
        .thenApply(b -> new ExitflowServer(b, settings));
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String host() {
    return binding.localAddress().getHostString();
  }

  /** Stops accepting connections, lets requests in flight finish (up to the shutdown deadline). */
  public CompletionStage<Done> stop() {
    return binding.terminate(settings.shutdownDeadline()).thenApply(t -> Done.getInstance());
  }
}
