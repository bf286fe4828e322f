package dev.exitflow.streams.kafka;

import com.typesafe.config.Config;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.InferenceFailed;
import dev.exitflow.actors.NoWorkers;
import dev.exitflow.actors.Overloaded;
import dev.exitflow.actors.WorkerLost;
import dev.exitflow.model.Failures;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.streams.Chunking;
import dev.exitflow.streams.InferenceFlow;
import dev.exitflow.streams.Scored;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.kafka.CommitterSettings;
import org.apache.pekko.kafka.ConsumerMessage.CommittableOffset;
import org.apache.pekko.kafka.ConsumerSettings;
import org.apache.pekko.kafka.ProducerMessage;
import org.apache.pekko.kafka.ProducerSettings;
import org.apache.pekko.kafka.Subscriptions;
import org.apache.pekko.kafka.javadsl.Committer;
import org.apache.pekko.kafka.javadsl.Consumer;
import org.apache.pekko.kafka.javadsl.Producer;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka pipeline: request records in, results out, at least once.
 *
 * <pre>
 * committable source -> admit -> decode -> InferenceFlow.unordered -> settle -> resequence
 *   -> Producer.flexiFlow (result or dead letter) -> Committer (batched, after the produce)
 * </pre>
 *
 * <p>Stages, in order: the <b>committable source</b> emits records as the consumer polls them,
 * backpressures by pausing its partitions, completes when {@link #drainAndShutdown()} stops it,
 * and cancels (stopping the consumer) when downstream cancels. <b>admit</b> emits a record once the
 * reorder window ({@code reorder-window}) has room, and backpressures while it is full.
 * <b>decode</b> emits one {@code Job} per record (the request, or the decoding error in its place,
 * numbered in consumption order); it never fails. The <b>inference flow</b> (unordered) emits each
 * result as soon as it is done and backpressures at {@code parallelism} requests in the runtime.
 * <b>settle</b> (unordered, same parallelism) emits a result once it is final: an {@link
 * Overloaded} refusal is submitted again after the runtime's retry-after (a {@link WorkerLost} or
 * {@link NoWorkers} after a short pause), an {@link
 * InferenceFailed} once more; an unexpected error fails the stream. <b>resequence</b> emits results
 * back in consumption order, so order per partition is kept and a committed offset never passes a
 * record whose result is not out. The <b>producer</b> emits each record's offset once its result
 * or dead letter is acknowledged; the <b>committer</b> commits those offsets in batches. Each stage
 * completes when its upstream completes and its in-flight elements are done, and cancels upstream
 * when its downstream cancels.
 *
 * <p>On failure the whole chain restarts with backoff from the committed offsets (records produced
 * but not yet committed are produced again: at least once).
 */
public final class KafkaPipeline {
  private static final Logger log = LoggerFactory.getLogger(KafkaPipeline.class);

  private final KafkaSettings settings;
  private final KafkaBroker broker;
  private final AtomicReference<Consumer.Control> control = new AtomicReference<>(Consumer.createNoopControl());
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final AtomicLong consumed = new AtomicLong();
  private final AtomicLong results = new AtomicLong();
  private final AtomicLong deadLetters = new AtomicLong();
  private final AtomicLong overloadRetries = new AtomicLong();
  private final AtomicLong restarts = new AtomicLong(-1);
  /** The last failure of the stream (null before any), and whether it is between restarts now. */
  private final AtomicReference<Failure> lastFailure = new AtomicReference<>();
  private volatile boolean restarting;
  private final ConsumerLag lag;
  private final Executor executor;
  private UniqueKillSwitch killSwitch;
  private CompletionStage<Done> completion;

  /** A failure of the stream, and when it happened. */
  public record Failure(String message, java.time.Instant at) {}

  private KafkaPipeline(KafkaSettings settings, KafkaBroker broker, Executor executor) {
    this.settings = settings;
    this.broker = broker;
    this.executor = executor;
    this.lag = new ConsumerLag(settings);
  }

  /**
   * Starts the pipeline configured under {@code exitflow.kafka}. With no bootstrap servers
   * configured, it first starts the embedded broker, which {@link #drainAndShutdown()} stops again.
   */
  public static KafkaPipeline start(ActorSystem<?> system, EncoderRuntime runtime, Config config) {
    return start(system, runtime, KafkaSettings.create(config));
  }

  public static KafkaPipeline start(ActorSystem<?> system, EncoderRuntime runtime, KafkaSettings settings) {
    KafkaBroker broker = KafkaBroker.connect(settings);
    KafkaSettings s = settings.withBootstrapServers(broker.bootstrapServers());
    try {
      Topics.ensure(s);
      KafkaPipeline pipeline = new KafkaPipeline(s, broker, system.executionContext());
      pipeline.run(system, runtime);
      log.info("Kafka pipeline consuming {} at {} (group {}), producing to {} and {}",
          s.topics().requests(), s.bootstrapServers(), s.groupId(), s.topics().results(), s.topics().deadLetter());
      return pipeline;
    } catch (RuntimeException e) {
      broker.close();
      throw e;
    }
  }

  private void run(ActorSystem<?> system, EncoderRuntime runtime) {
    ConsumerSettings<byte[], byte[]> consumerSettings =
        ConsumerSettings.create(system, new ByteArrayDeserializer(), new ByteArrayDeserializer())
            .withBootstrapServers(settings.bootstrapServers())
            .withGroupId(settings.groupId())
            .withProperties(settings.consumerProperties())
            .withStopTimeout(Duration.ZERO);
    ProducerSettings<byte[], byte[]> producerSettings =
        ProducerSettings.create(system, new ByteArraySerializer(), new ByteArraySerializer())
            .withBootstrapServers(settings.bootstrapServers())
            .withProperties(settings.producerProperties());
    CommitterSettings committerSettings = CommitterSettings.create(system)
        .withMaxBatch(settings.commit().maxBatch())
        .withMaxInterval(settings.commit().maxInterval())
        .withParallelism(settings.commit().parallelism());
    RestartSettings restart = RestartSettings.create(settings.restart().minBackoff(),
        settings.restart().maxBackoff(), settings.restart().randomFactor());
    RecordDecoder decoder = new RecordDecoder(settings, runtime);
    ResultEncoder encoder = new ResultEncoder(settings, runtime.model().name());
    int parallelism = settings.parallelism();

    Pair<UniqueKillSwitch, CompletionStage<Done>> materialized = RestartSource.onFailuresWithBackoff(restart, () -> {
          if (restarts.incrementAndGet() > 0) {
            log.warn("Kafka pipeline restarting (restart {})", restarts.get());
          }
          if (stopping.get()) {
            return Source.<Done>empty();
          }
          restarting = false;
          ReorderWindow window = new ReorderWindow(settings.reorderWindow());
          long[] sequence = {0};
          return Consumer.committableSource(consumerSettings, Subscriptions.topics(settings.topics().requests()))
              .mapMaterializedValue(c -> {
                control.set(c);
                return c;
              })
              .via(window.admit())
              .map(m -> {
                consumed.incrementAndGet();
                return decoder.decode(m, sequence[0]++);
              })
              .via(InferenceFlow.<Incoming>unordered(runtime, parallelism))
              .mapAsyncUnordered(parallelism, scored -> settle(runtime, scored, 0))
              .via(window.resequence(scored -> scored.context().seq()))
              .map(scored -> envelope(encoder, scored))
              .via(Producer.flexiFlow(producerSettings))
              .map(ProducerMessage.Results::passThrough)
              .via(Committer.flow(committerSettings))
              .watchTermination((mat, done) -> {
                done.whenComplete((d, e) -> {
                  if (e != null && !stopping.get()) {
                    lastFailure.set(new Failure(e.toString(), java.time.Instant.now()));
                    restarting = true; // RestartSource backs off, then builds the stream again
                  }
                });
                return mat;
              });
        })
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.ignore(), Keep.both())
        .run(system);
    killSwitch = materialized.first();
    completion = materialized.second().whenComplete((d, e) -> {
      if (e != null) {
        log.warn("Kafka pipeline stopped: {}", e.toString());
      }
    });
  }

  /** Waits out overload and lost cluster workers, retries a failed batch once; other outcomes are final. */
  private CompletionStage<Scored<Incoming>> settle(EncoderRuntime runtime, Scored<Incoming> scored, int attempt) {
    Throwable error = scored.error();
    if (error == null || error instanceof InvalidInputException) {
      return CompletableFuture.completedFuture(scored);
    }
    if (error instanceof Overloaded overloaded && !stopping.get()) {
      overloadRetries.incrementAndGet();
      long wait = Math.max(settings.overloadMinBackoff().toMillis(), overloaded.retryAfter().toMillis());
      return resubmit(runtime, scored, attempt, wait);
    }
    if ((error instanceof WorkerLost || error instanceof NoWorkers) && !stopping.get()) { // cluster nodes come and go
      return resubmit(runtime, scored, attempt, settings.overloadMinBackoff().toMillis());
    }
    if (error instanceof InferenceFailed && attempt == 0) {
      return resubmit(runtime, scored, attempt + 1, 0);
    }
    if (error instanceof InferenceFailed) {
      return CompletableFuture.completedFuture(scored); // failed twice: a dead letter, not a crash loop
    }
    return CompletableFuture.failedFuture(error);
  }

  private CompletionStage<Scored<Incoming>> resubmit(EncoderRuntime runtime, Scored<Incoming> scored, int attempt, long waitMs) {
    Incoming in = scored.context();
    Executor later = CompletableFuture.delayedExecutor(waitMs, TimeUnit.MILLISECONDS, executor);
    return CompletableFuture.supplyAsync(() -> null, later)
        .thenCompose(x -> Chunking.submit(runtime, in.request(), in.windows()))
        .handle((result, e) -> new Scored<>(in, result, Failures.unwrap(e)))
        .thenCompose(next -> settle(runtime, next, attempt));
  }

  private ProducerMessage.Envelope<byte[], byte[], CommittableOffset> envelope(ResultEncoder encoder, Scored<Incoming> s) {
    if (s.ok()) {
      results.incrementAndGet();
      return ProducerMessage.single(encoder.result(s.context(), s.result()), s.context().offset());
    }
    deadLetters.incrementAndGet();
    return ProducerMessage.single(encoder.deadLetter(s.context(), s.error()), s.context().offset());
  }

  public KafkaSettings settings() {
    return settings;
  }

  /** Where the pipeline's broker is: the configured cluster or the embedded broker. */
  public String bootstrapServers() {
    return settings.bootstrapServers();
  }

  public KafkaPipelineStats stats() {
    return new KafkaPipelineStats(consumed.get(), results.get(), deadLetters.get(), overloadRetries.get(),
        Math.max(0, restarts.get()), lag.latest());
  }

  /** Whether the stream failed and is waiting out its backoff before it starts again. */
  public boolean restarting() {
    return restarting;
  }

  /** The stream's last failure, if it ever failed. */
  public java.util.Optional<Failure> lastFailure() {
    return java.util.Optional.ofNullable(lastFailure.get());
  }

  /** Completes when the stream has stopped (after a drain, or failed after an abort). */
  public CompletionStage<Done> completion() {
    return completion;
  }

  /**
   * Graceful stop: the consumer stops fetching, every record in flight gets its result (or dead
   * letter) produced and its offset committed, then the consumer closes; an embedded broker this
   * pipeline started stops last. Call it before stopping the {@link EncoderRuntime}.
   */
  public CompletionStage<Done> drainAndShutdown() {
    stopping.set(true);
    Consumer.Control c = control.get();
    CompletionStage<Done> drained;
    if (c.isShutdown().toCompletableFuture().isDone()) {
      killSwitch.shutdown(); // between restarts: nothing is in flight
      drained = completion;
    } else {
      drained = c.drainAndShutdown(completion, executor);
    }
    return drained.exceptionally(e -> Done.getInstance())
        .thenApplyAsync(d -> {
          lag.close();
          broker.close();
          log.info("Kafka pipeline drained and stopped: {}", stats());
          return Done.getInstance();
        }, executor);
  }

  /**
   * Abrupt stop, as a crash would: the stream is torn down at once, with no drain and no further
   * commits (records produced but not committed will be produced again by the next run). Leaves an
   * embedded broker running. For tests.
   */
  public void abort() {
    stopping.set(true);
    killSwitch.abort(new IllegalStateException("Kafka pipeline aborted"));
    lag.close();
  }
}
