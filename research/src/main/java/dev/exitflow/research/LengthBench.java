package dev.exitflow.research;

import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.runtime.StagedEncoder;
import dev.exitflow.model.runtime.TokenBudget;
import dev.exitflow.model.tokenize.TokenizedText;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;

/**
 * {@code bench --dataset/--lengths}: per token-length bucket, the plain ONNX Runtime session (the
 * reference, fixed batches in file order) against the engine at each exit (its own batching,
 * grouped by length) and the engine's deep exit on the reference's own batches. Contenders
 * alternate within each round in a rotating order; each pass starts a new peak RSS, so a
 * contender's peak is the most its passes held (the whole process: JVM, both models, arenas).
 */
final class LengthBench {
  /** One contender's figures in one bucket; {@code vsReference} is texts/s over the reference's. */
  record Row(String contender, double textsPerS, double tokensPerS, double vsReference, long peakRssMib) {}

  record BucketResult(String tokens, int texts, double meanTokens, List<Row> rows) {}

  /**
   * {@code batchSize}: the reference's batches; the engine's own hold at most that many and {@code batchTokens}.
   * {@code exits}: the engine's exit layers, whose rows follow the reference's in each bucket, deepest last.
   */
  record Result(String model, String dataset, int maxLength, int batchSize, int batchTokens, int rounds,
      List<Integer> exits, List<BucketResult> buckets) {}

  @FunctionalInterface
  interface Pass {
    void run(List<String> texts) throws Exception;
  }

  private record Contender(String name, Pass pass, double[] seconds, long[] peak) {
    Contender(String name, Pass pass) {
      this(name, pass, new double[1], new long[] {-1});
    }
  }

  private LengthBench() {}

  static Pass inBatches(Pass batch, int batchSize) {
    return texts -> {
      for (int i = 0; i < texts.size(); i += batchSize) {
        batch.run(texts.subList(i, Math.min(texts.size(), i + batchSize)));
      }
    };
  }

  /** The deep exit on exactly this batch (embed would re-batch it by length and token budget). */
  static List<float[]> deepAsIs(StagedEncoder engine, List<String> batch) throws Exception {
    int deep = engine.exits().stageOf("deep");
    return engine.head(deep).applyAll(engine.runBatch(engine.tokenizer().tokenize(batch), deep).split(), null);
  }

  /**
   * The deep exit on the texts sorted by length and cut into batches of at most {@code batchSize}
   * texts and {@code budget} padded tokens: what the engine's own batching does with that budget.
   */
  static void deepWithBudget(StagedEncoder engine, List<String> texts, int batchSize, int budget) throws Exception {
    int deep = engine.exits().stageOf("deep");
    List<TokenizedText> tokens = new ArrayList<>(engine.tokenizer().tokenize(texts));
    tokens.sort(Comparator.comparingInt(TokenizedText::length));
    int[] lengths = tokens.stream().mapToInt(TokenizedText::length).toArray();
    for (int[] r : TokenBudget.ranges(lengths, batchSize, budget)) {
      engine.head(deep).applyAll(engine.runBatch(tokens.subList(r[0], r[1]), deep).split(), null);
    }
  }

  /** {@code budgets}: padded-token budgets to time the deep exit at besides the engine's own. */
  static Result run(StagedEncoder engine, ReferenceEncoder reference, LengthBuckets data, int batchSize, int rounds,
      List<Integer> budgets, ProgressBar bar) throws Exception {
    List<Integer> layers = engine.model().exitLayers();
    List<BucketResult> results = new ArrayList<>();
    for (LengthBuckets.Bucket bucket : data.buckets()) {
      List<String> texts = bucket.texts();
      if (texts.isEmpty()) {
        results.add(new BucketResult(bucket.label(), 0, 0, List.of()));
        bar.stepBy((long) rounds * (layers.size() + 2 + budgets.size()));
        continue;
      }
      List<Contender> contenders = new ArrayList<>();
      contenders.add(new Contender("plain ORT session (reference)", inBatches(reference::embedBatch, batchSize)));
      for (int layer : layers) {
        contenders.add(new Contender("exitflow exit " + layer, t -> engine.embed(t, String.valueOf(layer), null)));
      }
      contenders.add(new Contender("exitflow deep, reference's batches", inBatches(b -> deepAsIs(engine, b), batchSize)));
      for (int budget : budgets) {
        contenders.add(new Contender("exitflow deep, <= " + budget + " padded tokens",
            t -> deepWithBudget(engine, t, batchSize, budget)));
      }
      bar.setExtraMessage(" " + bucket.label() + " tokens: warm-up");
      for (Contender c : contenders) { // sessions allocate their arenas for this length on first use
        c.pass().run(texts.subList(0, Math.min(texts.size(), batchSize)));
      }
      for (int r = 0; r < rounds; r++) {
        bar.setExtraMessage(" " + bucket.label() + " tokens: round " + (r + 1) + " of " + rounds);
        for (int k = 0; k < contenders.size(); k++) {
          Contender c = contenders.get((k + r) % contenders.size());
          PeakRss.reset();
          long start = System.nanoTime();
          c.pass().run(texts);
          c.seconds()[0] += (System.nanoTime() - start) / 1e9;
          c.peak()[0] = Math.max(c.peak()[0], PeakRss.mib());
          bar.step();
        }
      }
      double textsDone = (double) texts.size() * rounds;
      double tokensDone = (double) bucket.totalTokens() * rounds;
      double refTps = textsDone / contenders.get(0).seconds()[0];
      List<Row> rows = new ArrayList<>();
      for (Contender c : contenders) {
        double tps = textsDone / c.seconds()[0];
        rows.add(new Row(c.name(), tps, tokensDone / c.seconds()[0], tps / refTps, c.peak()[0]));
      }
      results.add(new BucketResult(bucket.label(), texts.size(), bucket.meanTokens(), rows));
    }
    return new Result(engine.model().name(), data.dataset(), engine.model().maxSequenceLength(), batchSize,
        engine.batchTokens(), rounds, layers, results);
  }

  /**
   * One Markdown row per bucket: the plain session's texts/s and tokens/s, then texts/s and the
   * ratio to the plain session of the engine's deep exit, of the deep exit on the plain session's
   * batches and of each shallower exit, and the bucket's peak RSS (the most of any contender).
   */
  static String markdown(Result r) {
    List<Integer> exits = r.exits();
    int deep = exits.size(); // row index of the deepest exit
    StringBuilder s = new StringBuilder("| tokens (mean) | texts | plain ORT texts/s | tokens/s | engine deep "
        + "| deep, ORT's batches |");
    StringBuilder rule = new StringBuilder("| --- | --- | --- | --- | --- | --- |");
    for (int i = exits.size() - 2; i >= 0; i--) {
      s.append(" exit ").append(exits.get(i)).append(" |");
      rule.append(" --- |");
    }
    s.append(" peak RSS MiB |\n").append(rule).append(" --- |\n");
    for (BucketResult b : r.buckets()) {
      if (b.rows().isEmpty()) {
        s.append(String.format(Locale.ROOT, "| %s | 0 |%s%n", b.tokens(), " — |".repeat(exits.size() + 4)));
        continue;
      }
      Row ref = b.rows().get(0);
      s.append(String.format(Locale.ROOT, "| %s (%.0f) | %d | %.1f | %,.0f | %s | %s |", b.tokens(), b.meanTokens(),
          b.texts(), ref.textsPerS(), ref.tokensPerS(), cell(b.rows().get(deep)), cell(b.rows().get(deep + 1))));
      for (int i = exits.size() - 2; i >= 0; i--) {
        s.append(' ').append(cell(b.rows().get(i + 1))).append(" |");
      }
      long peak = b.rows().stream().mapToLong(Row::peakRssMib).max().orElse(-1);
      s.append(String.format(Locale.ROOT, " %,d |%n", peak));
    }
    return s.toString();
  }

  private static String cell(Row row) {
    return String.format(Locale.ROOT, "%.1f (%.2f)", row.textsPerS(), row.vsReference());
  }

  static void print(Result r, PrintWriter out) {
    out.printf(Locale.ROOT, "%s on %s: max length %d, reference batches of %d texts, the engine's of at most %d texts "
        + "and %d padded tokens, %d rounds%n", r.model(), r.dataset(), r.maxLength(), r.batchSize(), r.batchSize(),
        r.batchTokens(), r.rounds());
    out.printf(Locale.ROOT, "%-9s %5s %6s  %-38s %9s %10s %7s %9s%n", "tokens", "texts", "mean", "contender",
        "texts/s", "tokens/s", "vs ref", "peak MiB");
    for (BucketResult b : r.buckets()) {
      for (Row row : b.rows()) {
        out.printf(Locale.ROOT, "%-9s %5d %6.1f  %-38s %9.1f %10.0f %7.2f %9d%n", b.tokens(), b.texts(),
            b.meanTokens(), row.contender(), row.textsPerS(), row.tokensPerS(), row.vsReference(), row.peakRssMib());
      }
    }
  }
}
