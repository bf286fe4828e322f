package dev.exitflow.streams.kafka;

import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.streams.data.DirectoryLock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka pipeline's life inside {@code serve}: starts it in the background (the embedded broker
 * too, when no cluster is configured) so that nothing waits on Kafka, retries a start that fails
 * with the pipeline's restart backoff, and reports what state it is in for health and metrics.
 *
 * <p>A broker that cannot be reached is logged with the reason at every attempt and retried for
 * as long as the server runs: Kafka coming up late (a broker restarting, a container started
 * before its broker) must not need a restart of Exitflow. When it has not come up within
 * {@code exitflow.kafka.restart.start-timeout}, that is logged once as an error, and health shows the
 * state {@code failing} with the last error until it does. A data directory held by another
 * process is not retried: the state is {@code failed}.
 */
public final class KafkaService {
  private static final Logger log = LoggerFactory.getLogger(KafkaService.class);

  /** What the pipeline is doing, as health shows it. */
  public enum State { STARTING, RUNNING, RESTARTING, FAILING, FAILED, STOPPING, STOPPED }

  /** A snapshot for health and metrics; {@code stats} is empty until the pipeline first ran. */
  public record Status(State state, String bootstrapServers, Optional<KafkaPipeline.Failure> lastError,
      Optional<KafkaPipelineStats> stats) {}

  private final ActorSystem<?> system;
  private final EncoderRuntime runtime;
  private final KafkaSettings settings;
  private final ExecutorService starter;
  private final long startedNanos = System.nanoTime();
  private final CompletableFuture<KafkaPipeline> firstStart = new CompletableFuture<>();
  private volatile KafkaPipeline pipeline;
  private volatile State state = State.STARTING;
  private volatile KafkaPipeline.Failure startError;
  private volatile boolean stopping;
  private boolean warnedLate;

  private KafkaService(ActorSystem<?> system, EncoderRuntime runtime, KafkaSettings settings) {
    this.system = system;
    this.runtime = runtime;
    this.settings = settings;
    this.starter = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "exitflow-kafka-start");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts the pipeline in the background once {@code after} completes (the runtime being ready). */
  public static KafkaService start(ActorSystem<?> system, EncoderRuntime runtime, KafkaSettings settings,
      CompletionStage<?> after) {
    KafkaService service = new KafkaService(system, runtime, settings);
    after.thenRun(() -> service.starter.execute(() -> service.attempt(0)));
    return service;
  }

  /** Runs on the starter thread only, so a drain never overlaps a start. */
  private void attempt(int failures) {
    if (stopping) {
      return;
    }
    try {
      pipeline = KafkaPipeline.start(system, runtime, settings);
      state = State.RUNNING;
      startError = null;
      firstStart.complete(pipeline);
    } catch (DirectoryLock.DirectoryInUse e) {
      startError = new KafkaPipeline.Failure(e.getMessage(), Instant.now());
      state = State.FAILED;
      log.error("Kafka pipeline not started: {}", e.getMessage());
      firstStart.completeExceptionally(e);
    } catch (RuntimeException e) {
      startError = new KafkaPipeline.Failure(rootMessage(e), Instant.now());
      long waitMs = backoffMs(failures);
      boolean late = System.nanoTime() - startedNanos > settings.restart().startTimeout().toNanos();
      state = late ? State.FAILING : State.RESTARTING;
      if (late && !warnedLate) {
        warnedLate = true;
        log.error("Kafka at {} has not come up within {}: {}. Exitflow keeps serving HTTP and keeps trying "
            + "every {} s or less; see /health for the state.", where(), settings.restart().startTimeout(), startError.message(),
            settings.restart().maxBackoff().toSeconds());
      } else {
        log.warn("Kafka pipeline could not start at {} (attempt {}): {}; retrying in {} ms", where(), failures + 1,
            startError.message(), waitMs);
      }
      if (!stopping) {
        ((java.util.concurrent.ScheduledExecutorService) starter).schedule(() -> attempt(failures + 1), waitMs,
            TimeUnit.MILLISECONDS);
      }
    }
  }

  private String where() {
    return settings.needsEmbeddedBroker() ? "the embedded broker (" + settings.clientBootstrapServers() + ")"
        : settings.bootstrapServers();
  }

  private long backoffMs(int failures) {
    Duration min = settings.restart().minBackoff();
    Duration max = settings.restart().maxBackoff();
    double base = Math.min(max.toMillis(), min.toMillis() * Math.pow(2, Math.min(failures, 20)));
    return (long) (base * (1 + ThreadLocalRandom.current().nextDouble() * settings.restart().randomFactor()));
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == e ? e.getMessage() : e.getMessage() + " (" + t + ")";
  }

  /** Completes with the pipeline once it has started the first time; fails if it can never start. */
  public CompletionStage<KafkaPipeline> started() {
    return firstStart.copy();
  }

  public Status status() {
    KafkaPipeline p = pipeline;
    State s = state;
    Optional<KafkaPipeline.Failure> error = Optional.ofNullable(startError);
    if (p != null && s == State.RUNNING) {
      s = p.restarting() ? State.RESTARTING : State.RUNNING;
      error = p.lastFailure();
    }
    return new Status(s, p != null ? p.bootstrapServers() : settings.clientBootstrapServers(), error,
        Optional.ofNullable(p).map(KafkaPipeline::stats));
  }

  /**
   * Stops trying to start, or drains the running pipeline (results produced and offsets committed
   * for everything consumed) and stops an embedded broker. Waits for a start in progress to end
   * first, so a broker half started is stopped too.
   */
  public CompletionStage<Done> drainAndShutdown() {
    stopping = true;
    CompletableFuture<Done> done = new CompletableFuture<>();
    starter.execute(() -> {
      state = State.STOPPING;
      KafkaPipeline p = pipeline;
      CompletionStage<Done> drained = p == null ? CompletableFuture.completedFuture(Done.getInstance()) : p.drainAndShutdown();
      drained.whenComplete((d, e) -> {
        state = State.STOPPED;
        firstStart.completeExceptionally(new IllegalStateException("stopped before Kafka started"));
        done.complete(Done.getInstance());
      });
    });
    return done.whenComplete((d, e) -> starter.shutdownNow());
  }
}
