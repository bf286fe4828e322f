package dev.exitflow.loadtests;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.ClusterSettings;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.RuntimeStats;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** What the benchmarks share: the model, its runtime in an actor system, the sentences, the loops. */
final class Harness implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT);

  final Config config = ConfigFactory.load();
  final ModelSettings modelSettings = ModelSettings.create(config);
  final ModelDescriptor model;
  final List<String> sentences;
  final ActorSystem<Void> system;
  final EncoderRuntime runtime;

  Harness(String modelName) throws IOException {
    this.model = new ModelRepository(modelSettings).resolve(modelName != null ? modelName : modelSettings.defaultModel());
    this.sentences = stsSentences();
    this.system = ActorSystem.create(Behaviors.empty(), "exitflow-load",
        ClusterSettings.create(config).actorSystemConfig(config)); // the Pekko settings serve has
    this.runtime = EncoderRuntime.start(system, model, config);
    runtime.ready().toCompletableFuture().join();
  }

  /** STS-B test's sentences, in the file's order: what the benchmarks send. */
  static List<String> stsSentences() throws IOException {
    return new ArrayList<>(StsDataset.read(StsFiles.locate("sts-test.csv")).sentences().keySet());
  }

  /**
   * Closed loop: keeps {@code concurrency} requests outstanding for {@code duration}; returns the
   * requests per second completed within it.
   */
  double closedLoop(IntFunction<EmbeddingRequest> request, int concurrency, Duration duration) throws InterruptedException {
    return closedLoop(runtime, request, concurrency, duration);
  }

  /** {@link #closedLoop(IntFunction, int, Duration)} against another runtime. */
  static double closedLoop(EncoderRuntime runtime, IntFunction<EmbeddingRequest> request, int concurrency,
      Duration duration) throws InterruptedException {
    return ClosedLoop.run(i -> runtime.submit(request.apply(i)), concurrency, duration).perSecond();
  }

  /** The reference: a plain ONNX Runtime session on the unmodified model in a batch loop. */
  double referenceLoop(ReferenceEncoder reference, int batchSize, Duration duration) throws Exception {
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    long done = 0;
    for (int i = 0; System.nanoTime() < end; i = (i + batchSize) % (sentences.size() - batchSize)) {
      reference.embedBatch(sentences.subList(i, i + batchSize));
      done += batchSize;
    }
    return done / ((System.nanoTime() - start) / 1e9);
  }

  /** Waits (at most 30 s) until nothing is in flight and the depth controller is back at full depth. */
  void awaitIdle() throws InterruptedException {
    awaitStats(s -> s.inFlight() == 0 && s.degradationLevel() == 0, Duration.ofSeconds(30));
  }

  /** Polls the runtime's stats until {@code done} holds, at most {@code limit}. */
  void awaitStats(Predicate<RuntimeStats> done, Duration limit) throws InterruptedException {
    long until = System.nanoTime() + limit.toNanos();
    while (!done.test(runtime.stats().toCompletableFuture().join()) && System.nanoTime() < until) {
      Thread.sleep(20);
    }
  }

  /** Serves {@code texts} instead of the STS-B sentences from now on (a long-text workload). */
  void useTexts(List<String> texts) {
    sentences.clear();
    sentences.addAll(texts);
  }

  String sentence(int i) {
    return sentences.get(Math.floorMod(i, sentences.size()));
  }

  /** One line of JSON, for the last line of a command's output. */
  static String line(Object value) throws IOException {
    return JSON.copy().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value);
  }

  static Path write(String name, Object value) throws IOException {
    Path dir = Path.of(System.getProperty("exitflow.home", ".")).resolve("load-tests/results");
    Files.createDirectories(dir);
    Path file = dir.resolve(name);
    JSON.writeValue(file.toFile(), value);
    return file;
  }

  @Override
  public void close() {
    runtime.stop().toCompletableFuture().join();
    system.terminate();
  }
}
