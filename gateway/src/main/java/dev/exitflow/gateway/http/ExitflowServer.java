package dev.exitflow.gateway.http;

import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.streams.kafka.KafkaService;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.stream.Materializer;

/**
 * The HTTP server: binds the routes; on stop it first drains ({@link HttpDrain}: new requests get
 * 503, those in flight finish, streams included), then unbinds.
 */
public final class ExitflowServer {
  /** Connections still open after the drain get this long before they are closed. */
  private static final Duration AFTER_DRAIN = Duration.ofSeconds(2);

  private final ServerBinding binding;
  private final GatewaySettings settings;
  private final HttpDrain drain;

  private ExitflowServer(ServerBinding binding, GatewaySettings settings, HttpDrain drain) {
    this.binding = binding;
    this.settings = settings;
    this.drain = drain;
  }

  public static CompletionStage<ExitflowServer> start(ActorSystem<?> system, EncoderRuntime runtime,
      GatewaySettings settings, GatewayMetrics metrics) {
    return start(system, runtime, settings, metrics, new HttpDrain(), Optional::empty, null);
  }

  /**
   * The gateway's server; {@code kafka} is the Kafka pipeline's status for health (empty when it is
   * off); {@code batches} serve the Files and Batch API (null: none).
   */
  public static CompletionStage<ExitflowServer> start(ActorSystem<?> system, EncoderRuntime runtime,
      GatewaySettings settings, GatewayMetrics metrics, HttpDrain drain, Supplier<Optional<KafkaService.Status>> kafka,
      Batches batches) {
    ExitflowRoutes routes = new ExitflowRoutes(runtime, settings, metrics, Materializer.matFromSystem(system), drain,
        new Health(runtime, drain, kafka), batches);
    return bind(system, settings, routes.routes(), drain);
  }

  /** The server of a worker-only cluster node: health endpoints, ready once the node is up in the cluster. */
  public static CompletionStage<ExitflowServer> startWorkerNode(ActorSystem<?> system, GatewaySettings settings) {
    return bind(system, settings, WorkerNodeRoutes.routes(system), new HttpDrain());
  }

  private static CompletionStage<ExitflowServer> bind(ActorSystem<?> system, GatewaySettings settings, Route routes,
      HttpDrain drain) {
    return Http.get(system).newServerAt(settings.host(), settings.port())
        .withSettings(ServerSettings.create(Adapter.toClassic(system)).withBacklog(settings.backlog()))
        .bind(routes)
        .thenApply(b -> new ExitflowServer(b, settings, drain));
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  public String host() {
    return binding.localAddress().getHostString();
  }

  /** Whether {@link #stop()} has begun. */
  public boolean draining() {
    return drain.draining();
  }

  /**
   * Drains (new requests 503, those in flight finish, up to the shutdown deadline), then stops
   * accepting connections and closes the idle ones.
   */
  public CompletionStage<Done> stop() {
    return drain.drain(settings.shutdownDeadline())
        .thenCompose(d -> binding.terminate(AFTER_DRAIN))
        .handle((t, e) -> Done.getInstance());
  }
}
