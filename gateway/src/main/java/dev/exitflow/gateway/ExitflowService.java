package dev.exitflow.gateway;

import com.typesafe.config.Config;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.gateway.http.ExitflowServer;
import dev.exitflow.gateway.http.GatewayMetrics;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.streams.kafka.KafkaPipeline;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Everything {@code exitflow serve} runs, wired together: the actor system, the runtime with its
 * metrics, the HTTP server and (when {@code exitflow.gateway.kafka} is on) the Kafka pipeline.
 * Shutdown goes through Pekko's coordinated shutdown: first the server stops accepting and
 * finishes its requests, then the Kafka pipeline drains and commits, then the runtime drains, then
 * the actor system stops.
 */
public final class ExitflowService {
  private final ActorSystem<Void> system;
  private final EncoderRuntime runtime;
  private final ExitflowServer server;
  private final CompletableFuture<KafkaPipeline> kafka;

  private ExitflowService(ActorSystem<Void> system, EncoderRuntime runtime, ExitflowServer server,
      CompletableFuture<KafkaPipeline> kafka) {
    this.system = system;
    this.runtime = runtime;
    this.server = server;
    this.kafka = kafka;
  }

  /** Starts it all and returns once the server is bound (the model may still be loading; see {@link #runtime()}). */
  public static ExitflowService start(Config config, ModelDescriptor model, GatewaySettings settings) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow", config);
    GatewayMetrics metrics = new GatewayMetrics();
    EncoderRuntime runtime = EncoderRuntime.start(system, model, config, metrics);
    ExitflowServer server = ExitflowServer.start(system, runtime, settings, metrics).toCompletableFuture().join();
    // The pipeline starts once the model is ready, so that it does not fill the queue before.
    CompletableFuture<KafkaPipeline> kafka = settings.kafka()
        ? runtime.ready().thenApply(d -> KafkaPipeline.start(system, runtime, config)).toCompletableFuture()
        : CompletableFuture.completedFuture(null);
    kafka.thenAccept(k -> {
      if (k != null) {
        system.log().info("Kafka pipeline consuming from {}", k.bootstrapServers());
      }
    });
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(Adapter.toClassic(system));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind-and-finish", server::stop);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "kafka-drain", () -> kafka.isDone() && !kafka.isCompletedExceptionally() && kafka.join() != null
        ? kafka.join().drainAndShutdown()
        : CompletableFuture.completedFuture(Done.getInstance()));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "runtime-drain", runtime::stop);
    return new ExitflowService(system, runtime, server, kafka);
  }

  /** The Kafka pipeline once started (null when off); fails if it could not start. */
  public CompletionStage<KafkaPipeline> kafka() {
    return kafka;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public EncoderRuntime runtime() {
    return runtime;
  }

  public ExitflowServer server() {
    return server;
  }

  /** What SIGTERM does: unbind, finish, drain, stop. Completes when the system has terminated. */
  public CompletionStage<Done> shutdown() {
    return CoordinatedShutdown.get(Adapter.toClassic(system)).runAll(CoordinatedShutdown.jvmExitReason())
        .thenCompose(done -> system.getWhenTerminated()).thenApply(t -> Done.getInstance());
  }
}
