package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.model.eval.ReferenceEncoder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Saturation: a closed loop with enough outstanding requests to keep every stage busy, all
 * {@code deep}, against the plain ONNX Runtime session of {@code exitflow bench}, alternating in
 * the same run; then each shallow exit's capacity against the deep one's.
 */
@Command(name = "saturation", description = "Closed-loop deep throughput of the runtime vs a plain ORT session.")
final class SaturationCommand implements Callable<Integer> {
  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  @Option(names = "--seconds", defaultValue = "10", description = "Length of each measurement (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--rounds", defaultValue = "2", description = "Alternating rounds (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--concurrency", defaultValue = "256", description = "Outstanding requests (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--model", description = "Model name or directory (default: exitflow.model.default)")
  String model;

  @Option(names = "--dataset", description = "Texts, one per line, instead of STS-B test sentences"
      + " (e.g. data/europarl/europarl-passages-en.txt)")
  Path dataset;

  @Option(names = "--min-tokens", defaultValue = "0",
      description = "With --dataset: only texts of at least this many tokens (default: ${DEFAULT-VALUE})")
  int minTokens;

  /** Closed-loop capacity of the runtime when every request names this exit, and its ratio to the deep one. */
  record ExitCapacity(int layer, double sps, double ratioToDeep) {}

  record Result(String model, String texts, int concurrency, int seconds, int rounds, double referenceSps, double runtimeSps,
      double ratio, List<ExitCapacity> exits) {}

  /**
   * Each shallow exit's capacity, measured between two deep runs of the same length so that a
   * machine whose speed drifts (another process, thermal limits) shows in the reference too.
   */
  private List<ExitCapacity> exitCapacities(Harness h, double deepBefore, Duration each) throws InterruptedException {
    List<Integer> layers = h.runtime.exits().stream().map(q -> q.layer()).toList();
    List<ExitCapacity> out = new ArrayList<>();
    for (int layer : layers.subList(0, layers.size() - 1)) {
      double sps = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), new ExitPolicy.Exact(layer)), concurrency, each);
      System.err.println("  stages after it: " + h.runtime.stats().toCompletableFuture().join().stages());
      double deep = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), concurrency, each);
      double reference = (deepBefore + deep) / 2;
      System.err.printf("exit %d: %.1f/s, deep around it %.1f/s (x%.2f)%n", layer, sps, reference, sps / reference);
      out.add(new ExitCapacity(layer, sps, sps / reference));
      deepBefore = deep;
    }
    return out;
  }

  @Override
  public Integer call() throws Exception {
    try (Harness h = new Harness(model);
        ReferenceEncoder reference = new ReferenceEncoder(h.model, h.modelSettings, 384)) {
      if (dataset != null) {
        h.useTexts(Passages.read(dataset, h.runtime.tokenizer(), minTokens));
      }
      Duration each = Duration.ofSeconds(seconds);
      // The plain session's batches as the engine's: its batch size, within its padded-token budget.
      int batch = dataset == null ? h.modelSettings.batchSize()
          : Math.max(1, Math.min(h.modelSettings.batchSize(), h.modelSettings.batchTokens() / h.model.maxSequenceLength()));
      System.err.println("warming up...");
      h.referenceLoop(reference, batch, Duration.ofSeconds(2));
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), concurrency, Duration.ofSeconds(2));
      double ref = 0;
      double rt = 0;
      for (int r = 0; r < rounds; r++) {
        double a = h.referenceLoop(reference, batch, each);
        double b = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), concurrency, each);
        System.err.printf("round %d: reference %.1f/s, runtime %.1f/s%n", r + 1, a, b);
        ref += a / rounds;
        rt += b / rounds;
      }
      List<ExitCapacity> exits = exitCapacities(h, rt, each);
      Result result = new Result(h.model.name(), dataset == null ? "sts-test" : dataset.toString(), concurrency,
          seconds, rounds, ref, rt, rt / ref, exits);
      System.out.printf("%-44s %12s%n", "saturation, all deep, " + result.texts(), "texts/s");
      System.out.printf("%-44s %12.1f%n", "plain ORT session, batch loop of " + batch, ref);
      System.out.printf("%-44s %12.1f%n", "Exitflow runtime, " + concurrency + " outstanding", rt);
      System.out.printf("%-44s %12.2f%n", "ratio", rt / ref);
      System.out.printf("%n%-44s %12s %9s%n", "runtime, every request at one exit", "texts/s", "x deep");
      for (ExitCapacity e : exits) {
        System.out.printf("%-44s %12.1f %9.2f%n", "exit " + e.layer(), e.sps(), e.ratioToDeep());
      }
      Harness.write("saturation.json", result);
      if (json) {
        System.out.println(Harness.line(result));
      }
      return 0;
    }
  }
}
