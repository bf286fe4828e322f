package dev.exitflow.gateway;

import com.typesafe.config.Config;
import dev.exitflow.actors.ClusterSettings;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.WorkerNode;
import dev.exitflow.gateway.http.ExitflowServer;
import dev.exitflow.gateway.http.GatewayMetrics;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.gateway.batch.BatchRunner;
import dev.exitflow.gateway.batch.BatchSettings;
import dev.exitflow.gateway.batch.FileStore;
import dev.exitflow.gateway.http.BatchApi;
import dev.exitflow.gateway.http.Batches;
import dev.exitflow.gateway.http.HttpDrain;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.streams.kafka.KafkaService;
import dev.exitflow.streams.kafka.KafkaSettings;
import dev.exitflow.streams.data.DirectoryLock;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;

/**
 * Everything {@code exitflow serve} runs, wired together: the actor system, the runtime with its
 * metrics, the HTTP server and (when {@code exitflow.gateway.kafka} is on) the Kafka pipeline.
 * In a cluster ({@code exitflow.cluster.enabled}) the node's roles decide: a {@code worker} runs
 * stage workers for gateways anywhere in the cluster, a {@code gateway} runs the rest and batches
 * onto those workers; a worker-only node serves just its health endpoints over HTTP.
 * Shutdown goes through Pekko's coordinated shutdown: first the server drains (readiness off, new
 * requests 503, those in flight and open streams finished) and unbinds, then the Kafka pipeline
 * drains and commits (or stops trying to start), then the runtime drains, then the node leaves the
 * cluster (if in one) and the actor system stops. The Kafka pipeline (and the embedded broker)
 * starts in the background once the model is ready, so nothing here waits on Kafka.
 */
public final class ExitflowService {
  private final ActorSystem<Void> system;
  private final EncoderRuntime runtime;
  private final ExitflowServer server;
  private final KafkaService kafka;
  private final CompletionStage<Done> ready;

  private ExitflowService(ActorSystem<Void> system, EncoderRuntime runtime, ExitflowServer server,
      KafkaService kafka, CompletionStage<Done> ready) {
    this.system = system;
    this.runtime = runtime;
    this.server = server;
    this.kafka = kafka;
    this.ready = ready;
  }

  /**
   * Starts it all and returns once the server is bound (the model may still be loading; see {@link
   * #ready()}). Settings that contradict each other are refused first (see {@link CoupledSettings}).
   */
  public static ExitflowService start(Config config, ModelDescriptor model, GatewaySettings settings) {
    CoupledSettings.check(config, model, settings); // refuses settings that contradict each other
    ClusterSettings cluster = ClusterSettings.create(config);
    DirectoryLock data = lockDataDirectory(config, cluster, settings); // before anything else starts
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow", cluster.actorSystemConfig(config));
    if (data != null) {
      system.getWhenTerminated().whenComplete((t, e) -> data.close());
    }
    if (cluster.enabled() && cluster.bootstrap()) {
      PekkoManagement.get(system).start();
      ClusterBootstrap.get(system).start();
    }
    if (cluster.enabled() && cluster.worker()) {
      WorkerNode.start(system, model, config);
    }
    if (!cluster.gateway()) {
      ExitflowServer server = ExitflowServer.startWorkerNode(system, settings).toCompletableFuture().join();
      CoordinatedShutdown.get(Adapter.toClassic(system))
          .addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-unbind", server::stop);
      CompletableFuture<Done> up = new CompletableFuture<>();
      Cluster.get(Adapter.toClassic(system)).registerOnMemberUp(() -> up.complete(Done.getInstance()));
      return new ExitflowService(system, null, server, null, up);
    }
    GatewayMetrics metrics = new GatewayMetrics();
    EncoderRuntime runtime = EncoderRuntime.start(system, model, config, metrics);
    // The pipeline starts once the model is ready, so that it does not fill the queue before.
    KafkaService kafka = settings.kafka()
        ? KafkaService.start(system, runtime, KafkaSettings.create(config), runtime.ready())
        : null;
    java.util.function.Supplier<Optional<KafkaService.Status>> kafkaStatus =
        () -> Optional.ofNullable(kafka).map(KafkaService::status);
    metrics.watchKafka(kafkaStatus);
    Batches batches = batches(config, system, runtime, settings, metrics);
    ExitflowServer server = ExitflowServer.start(system, runtime, settings, metrics, new HttpDrain(), kafkaStatus, batches)
        .toCompletableFuture().join();
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(Adapter.toClassic(system));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "http-drain-and-unbind", server::stop);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "kafka-drain", () -> kafka != null
        ? kafka.drainAndShutdown()
        : CompletableFuture.completedFuture(Done.getInstance()));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "batch-checkpoint", () -> batches != null
        ? batches.runner().stop()
        : CompletableFuture.completedFuture(Done.getInstance()));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "runtime-drain", runtime::stop);
    return new ExitflowService(system, runtime, server, kafka, runtime.ready());
  }

  /**
   * Locks {@code exitflow.data-dir} when this process keeps data there (batch files and state, the
   * embedded broker's log unless it was given a temporary directory), so that a second {@code
   * serve} on the same directory is refused at once with a message naming the holder.
   */
  private static DirectoryLock lockDataDirectory(Config config, ClusterSettings cluster, GatewaySettings settings) {
    if (!cluster.gateway()) {
      return null;
    }
    KafkaSettings kafka = KafkaSettings.create(config);
    boolean brokerLog = settings.kafka() && kafka.needsEmbeddedBroker() && !kafka.embedded().dataDir().isBlank();
    if (!brokerLog && !BatchSettings.create(config).enabled()) {
      return null;
    }
    return DirectoryLock.acquire(dataDir(config));
  }

  private static Path dataDir(Config config) {
    return Path.of(config.getString("exitflow.data-dir")).toAbsolutePath();
  }

  /** The Files and Batch API's stores, and the runner, which starts once the model is ready (null when off). */
  private static Batches batches(Config config, ActorSystem<Void> system, EncoderRuntime runtime,
      GatewaySettings settings, GatewayMetrics metrics) {
    BatchSettings s = BatchSettings.create(config);
    if (!s.enabled()) {
      return null;
    }
    FileStore files = new FileStore(dataDir(config).resolve("files"));
    BatchRunner runner = new BatchRunner(files, dataDir(config).resolve("batches"),
        BatchApi.lineEmbedder(runtime, settings), Materializer.matFromSystem(system), s);
    runtime.ready().thenRun(runner::start);
    metrics.watchBatches(runner::progress);
    return new Batches(files, runner, s.maxFileBytes());
  }

  /**
   * Completes when this node can do its work: the model's workers are open (in a cluster: every
   * stage has a worker somewhere), or, on a worker-only node, the node is up in the cluster.
   */
  public CompletionStage<Done> ready() {
    return ready;
  }

  /** The Kafka pipeline's life (empty when {@code exitflow.gateway.kafka} is off or on a worker-only node). */
  public Optional<KafkaService> kafka() {
    return Optional.ofNullable(kafka);
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The runtime; null on a worker-only cluster node. */
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
