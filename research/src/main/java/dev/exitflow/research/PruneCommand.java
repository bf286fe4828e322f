package dev.exitflow.research;

import dev.exitflow.gateway.cli.Json;
import dev.exitflow.gateway.cli.ModelOption;
import dev.exitflow.gateway.cli.Progress;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.Embedding;
import dev.exitflow.model.runtime.StagedEncoder;
import dev.exitflow.model.runtime.TokenPruner;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Token pruning on long texts: for each plan, per token-length bucket, the deep exit's speed-up
 * over the unpruned model and how closely its embeddings follow the unpruned deep embeddings
 * (fidelity: mean and 5th-percentile cosine; top-10 neighbour overlap within the bucket). Speed:
 * the median of a plan's passes against the median of the unpruned model's passes alternating with them.
 * Adapters are off: only the deep exit is measured, and its path never reads them.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
    description = "Deep-exit speed-up and fidelity of token-pruning plans on long texts, per token-length bucket.")
final class PruneCommand implements Callable<Integer> {
  @Parameters(paramLabel = "PLAN", arity = "1..*", description = "Plan files (JSON, see plans/) of one model")
  List<Path> planFiles;

  @Option(names = "--dataset", defaultValue = "europarl-passages-en.txt", paramLabel = "FILE",
      description = "Texts, one per line (or an STS CSV); a bare name is one shipped in data/ (default: ${DEFAULT-VALUE})")
  String dataset;

  @Option(names = "--lengths", split = ",", defaultValue = "256,512", paramLabel = "N,N,...",
      description = "Token-length buckets, as bench --lengths (default: ${DEFAULT-VALUE})")
  List<Integer> lengths;

  @Option(names = "--texts-per-bucket", defaultValue = "128",
      description = "Texts per bucket for fidelity and neighbours (default: ${DEFAULT-VALUE})")
  int textsPerBucket;

  @Option(names = "--speed-texts", defaultValue = "64",
      description = "The first of them timed per pass (default: ${DEFAULT-VALUE})")
  int speedTexts;

  @Option(names = "--rounds", defaultValue = "3",
      description = "Timed passes per plan and bucket; the median counts (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--max-length", defaultValue = "512", paramLabel = "TOKENS",
      description = "Truncation length (default: ${DEFAULT-VALUE}; all-minilm-l6-v2's own is 256, its position "
          + "embeddings reach 512)")
  int maxLength;

  @Option(names = "--json", description = "Print the result as one JSON object, last on stdout")
  boolean json;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  /** One plan in one bucket; {@code speedUp} is deep texts/s over the unpruned model's. */
  record Row(String plan, List<Integer> exits, List<Double> keepRatios, double meanTokensAtDeep, double textsPerS,
      double speedUp, double meanCosine, double p5Cosine, double top10Overlap) {}

  /** {@code unprunedTextsPerS}: the median of all the unpruned engine's passes in the bucket. */
  record BucketResult(String tokens, int texts, double meanTokens, double unprunedTextsPerS, List<Row> rows) {}

  record Result(String model, String dataset, int maxLength, int batchSize, int batchTokens, int rounds, int speedTexts,
      List<BucketResult> buckets) {}

  private static double median(List<Double> values) {
    List<Double> s = values.stream().sorted().toList();
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  @Override
  public Integer call() throws Exception {
    List<Plan> plans = planFiles.stream().map(Plan::read).toList();
    String modelName = plans.get(0).model();
    for (Plan p : plans) {
      if (!p.model().equals(modelName)) {
        throw new IllegalArgumentException("plans of one model only: " + p.name() + " runs " + p.model());
      }
    }
    ModelDescriptor descriptor = model.resolve(modelName).withMaxSequenceLength(maxLength);
    ModelSettings settings = model.settings().withAdapters(false);
    try (StagedEncoder unpruned = StagedEncoder.open(descriptor, settings)) {
      LengthBuckets data = LengthBuckets.read(dataset, lengths, textsPerBucket, unpruned.tokenizer());
      List<BucketResult> results = new ArrayList<>();
      long steps = (long) lengths.size() * (1 + plans.size() * (1 + 2L * rounds));
      try (ProgressBar bar = Progress.bar("prune", steps, "passes")) {
        for (LengthBuckets.Bucket bucket : data.buckets()) {
          results.add(measure(bucket, unpruned, plans, descriptor, settings, bar));
        }
      }
      Result result = new Result(modelName, dataset, maxLength, settings.batchSize(), settings.batchTokens(), rounds,
          speedTexts, results);
      PrintWriter out = spec.commandLine().getOut();
      out.print(markdown(result));
      if (json) {
        out.println(Json.of(result));
      }
      out.flush();
      return 0;
    }
  }

  /**
   * One bucket: the unpruned deep embeddings once, then each plan in turn, opened only for its
   * turn (two engines' ONNX Runtime arenas at a time; they grow with the square of the length):
   * its embeddings, then passes alternating with the unpruned engine's, whose medians give its
   * speed-up.
   */
  private BucketResult measure(LengthBuckets.Bucket bucket, StagedEncoder unpruned, List<Plan> plans,
      ModelDescriptor descriptor, ModelSettings settings, ProgressBar bar) throws Exception {
    List<String> texts = bucket.texts();
    if (texts.isEmpty()) {
      bar.stepBy(1 + plans.size() * (1 + 2L * rounds));
      return new BucketResult(bucket.label(), 0, 0, Double.NaN, List.of());
    }
    bar.setExtraMessage(" " + bucket.label() + " tokens: unpruned");
    List<float[]> reference = vectors(unpruned, texts);
    bar.step();
    List<String> timed = texts.subList(0, Math.min(speedTexts, texts.size()));
    List<Double> allUnpruned = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    for (Plan plan : plans) {
      bar.setExtraMessage(" " + bucket.label() + " tokens: " + plan.name());
      try (StagedEncoder pruned = StagedEncoder.open(descriptor, settings, plan)) {
        Agreement a = Agreement.of(reference, vectors(pruned, texts), 10); // also warms its sessions up
        bar.step();
        List<Double> base = new ArrayList<>();
        List<Double> own = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
          for (int k = 0; k < 2; k++) { // alternate which of the two goes first
            boolean planTurn = (r + k) % 2 == 0;
            long start = System.nanoTime();
            (planTurn ? pruned : unpruned).embed(timed, "deep", null);
            (planTurn ? own : base).add((System.nanoTime() - start) / 1e9);
            bar.step();
          }
        }
        allUnpruned.addAll(base);
        rows.add(new Row(plan.name(), pruned.model().exitLayers(), plan.keepRatios(),
            tokensAtDeep(bucket.tokens(), pruned), timed.size() / median(own), median(base) / median(own),
            a.meanCosine(), a.p5Cosine(), a.neighbourOverlap()));
      }
    }
    return new BucketResult(bucket.label(), texts.size(), bucket.meanTokens(), timed.size() / median(allUnpruned),
        rows);
  }

  private static List<float[]> vectors(StagedEncoder engine, List<String> texts) throws Exception {
    return engine.embed(texts, "deep", null).stream().map(Embedding::vector).toList();
  }

  /** Mean tokens per text that the deep stage runs on, after every boundary's pruning. */
  static double tokensAtDeep(int[] lengths, StagedEncoder engine) {
    int stages = engine.model().exitLayers().size();
    double sum = 0;
    for (int length : lengths) {
      int n = length;
      for (int s = 1; s < stages; s++) {
        n = TokenPruner.kept(n, engine.plan().keepRatioInto(s));
      }
      sum += n;
    }
    return lengths.length == 0 ? 0 : sum / lengths.length;
  }

  static String markdown(Result r) {
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "%s on %s, max length %d, batches of at most %d texts and %d padded tokens; "
        + "texts/s: median of %d passes over %d texts of the bucket; x unpruned: over the median of the unpruned deep "
        + "exit's passes alternating with the plan's; fidelity and neighbours: all texts of the bucket, against the "
        + "unpruned deep exit%n%n", r.model(), r.dataset(), r.maxLength(), r.batchSize(), r.batchTokens(), r.rounds(),
        r.speedTexts()));
    s.append("| tokens | plan | exits | keep ratios | tokens at deep | texts/s | x unpruned | mean cosine "
        + "| 5th pct cosine | top-10 overlap |\n");
    s.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (BucketResult b : r.buckets()) {
      String bucket = String.format(Locale.ROOT, "%s (%d, mean %.0f)", b.tokens(), b.texts(), b.meanTokens());
      s.append(String.format(Locale.ROOT, "| %s | unpruned | — | — | %.1f | %.1f | 1.00 | 1 | 1 | 1 |%n", bucket,
          b.meanTokens(), b.unprunedTextsPerS()));
      for (Row row : b.rows()) {
        s.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.1f | %.1f | %.2f | %.4f | %.4f | %.3f |%n",
            bucket, row.plan(), row.exits().stream().map(String::valueOf).collect(Collectors.joining(", ")),
            row.keepRatios().isEmpty() ? "—" : row.keepRatios().stream()
                .map(k -> String.format(Locale.ROOT, "%.2f", k)).collect(Collectors.joining(", ")),
            row.meanTokensAtDeep(), row.textsPerS(), row.speedUp(), row.meanCosine(), row.p5Cosine(),
            row.top10Overlap()));
      }
    }
    return s.toString();
  }
}
