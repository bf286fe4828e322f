package dev.exitflow.gateway;

import com.typesafe.config.Config;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.gateway.http.ExitflowServer;
import dev.exitflow.gateway.http.GatewayMetrics;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Everything {@code exitflow serve} runs, wired together: the actor system, the runtime with its
 * metrics, and the HTTP server. Shutdown goes through Pekko's coordinated shutdown, which SIGTERM
 * triggers: first the server stops accepting and finishes its requests, then the runtime drains,
 * then the actor system stops.
 */
public final class ExitflowService {
  private final ActorSystem<Void> system;
  private final EncoderRuntime runtime;
  private final ExitflowServer server;

  private ExitflowService(ActorSystem<Void> system, EncoderRuntime runtime, ExitflowServer server) {
    this.system = system;
    this.runtime = runtime;
    this.server = server;
  }

  /** Starts it all and returns once the server is bound (the model may still be loading; see {@link #runtime()}). */
  public static ExitflowService start(Config config, ModelDescriptor model, GatewaySettings settings) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow", config);
    GatewayMetrics metrics = new GatewayMetrics();
    EncoderRuntime runtime = EncoderRuntime.start(system, model, config, metrics);
    ExitflowServer server = ExitflowServer.start(system, runtime, settings, metrics).toCompletableFuture().join();
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(Adapter.toClassic(system));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind-and-finish", server::stop);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "runtime-drain", runtime::stop);
    return new ExitflowService(system, runtime, server);
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
