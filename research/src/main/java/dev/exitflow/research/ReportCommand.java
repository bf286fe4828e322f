package dev.exitflow.research;

import dev.exitflow.gateway.cli.Json;
import dev.exitflow.gateway.cli.ModelOption;
import dev.exitflow.gateway.cli.Progress;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.compile.Drop;
import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsEvaluator;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.eval.StsReport;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Evaluate every plan of a directory on STS (quality and speed per exit, in one run), then the "
        + "model's speed on passages per token length against a plain ONNX Runtime session (as bench --lengths; "
        + "--no-long leaves it out), and write report.md, report.json and pareto.png.")
final class ReportCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ReportCommand.class);

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where report.md, report.json and pareto.png go")
  Path out;

  @Option(names = "--plans", defaultValue = "plans", paramLabel = "DIR",
      description = "Directory of plan files (*.json), run in name order (default: ${DEFAULT-VALUE}, "
          + "found from the working directory or the launcher's)")
  Path plans;

  @Option(names = "--dataset", defaultValue = "sts-test.csv",
      description = "STS CSV; a bare name is one shipped in data/stsbenchmark (default: ${DEFAULT-VALUE})")
  String dataset;

  @Option(names = "--speed-sentences", defaultValue = "512",
      description = "Sentences per timed pass (the dataset's first distinct ones; default: ${DEFAULT-VALUE})")
  int speedSentences;

  @Option(names = "--rounds", defaultValue = "5",
      description = "Timed passes per plan and exit, interleaved across all of them; the median pass counts "
          + "(default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--long-lengths", split = ",", defaultValue = "64,128,256", paramLabel = "N,N,...",
      description = "The long-text section: token-length buckets of the passages, as bench --lengths (default: "
          + "${DEFAULT-VALUE}; past the model's maximum length give --long-max-length)")
  List<Integer> longLengths;

  @Option(names = "--long-texts", defaultValue = "16",
      description = "Passages per length bucket and pass in the long-text section (default: ${DEFAULT-VALUE})")
  int longTexts;

  @Option(names = "--long-rounds", defaultValue = "3",
      description = "Timed passes per contender and bucket in the long-text section (default: ${DEFAULT-VALUE})")
  int longRounds;

  @Option(names = "--long-dataset", defaultValue = "europarl-passages-en.txt", paramLabel = "FILE",
      description = "Texts of the long-text section, one per line; a bare name is one shipped in data/ "
          + "(default: ${DEFAULT-VALUE})")
  String longDataset;

  @Option(names = "--long-max-length", paramLabel = "TOKENS",
      description = "Truncation length of the long-text section (default: the model's; all-minilm-l6-v2's position "
          + "embeddings reach 512)")
  Integer longMaxLength;

  @Option(names = "--no-long", description = "Leave the long-text section out")
  boolean noLong;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  /**
   * One exit of one plan. {@code vsBaseline} is sentences/s over the baseline's (fp32 deep exit) in the same run;
   * {@code notFaster}: an exit with an adapter that ran no faster than the plan's next exit in this run.
   */
  record Row(String plan, String model, String precision, int exit, String adapter, List<Double> keepRatios,
      List<String> drops, double spearman, double sentencesPerS, double vsBaseline, double meanTokensAtExit,
      boolean pareto, boolean notFaster) {}

  record Baseline(String plan, int exit, double sentencesPerS) {}

  /** The adapter column of an exit that ran a distilled branch instead of pooling or an adapter. */
  static final String BRANCH = "branch";

  /** How speed was measured: {@code rounds} interleaved passes of {@code sentences} per plan and exit. */
  record Speed(int sentences, int rounds, int batchSize) {}

  /**
   * {@code longTexts}: the long-text section ({@code bench --lengths} on the model of {@code --model}), null when
   * left out; {@code longTextsSeconds} is how long it took.
   */
  record Report(String dataset, int pairs, int sentences, Speed speed, Baseline baseline, List<Row> rows,
      List<StsReport> runs, LengthBench.Result longTexts, Double longTextsSeconds) {
    Report(String dataset, int pairs, int sentences, Speed speed, Baseline baseline, List<Row> rows,
        List<StsReport> runs) {
      this(dataset, pairs, sentences, speed, baseline, rows, runs, null, null);
    }

    Report withLongTexts(LengthBench.Result result, double seconds) {
      return new Report(dataset, pairs, sentences, speed, baseline, rows, runs, result, seconds);
    }
  }

  /** One plan's exit under timing: its engine, the exit and the seconds each of its passes took. */
  private record Timed(StagedEncoder encoder, int layer, List<Double> seconds) {
    double medianSeconds() {
      List<Double> s = seconds.stream().sorted().toList();
      int n = s.size();
      return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
  }

  @Override
  public Integer call() throws Exception {
    ModelDescriptor longModel = null;
    if (!noLong) { // checked before the long STS part runs
      longModel = model.resolve();
      if (longMaxLength != null) {
        longModel = longModel.withMaxSequenceLength(longMaxLength);
      }
      int longest = longLengths.get(longLengths.size() - 1);
      if (longest > longModel.maxSequenceLength()) {
        throw new ParameterException(spec.commandLine(), "long-text bucket " + longest + " is longer than "
            + longModel.name() + "'s maximum length " + longModel.maxSequenceLength()
            + "; raise it with --long-max-length");
      }
    }
    List<Path> files = planFiles();
    List<Plan> all = files.stream().map(Plan::read).toList();
    StsDataset data = StsDataset.read(StsFiles.locate(dataset));
    int sentences = data.sentences().size();
    List<String> speedTexts = new ArrayList<>(data.sentences().keySet())
        .subList(0, Math.min(speedSentences, sentences));
    List<StsReport> runs = new ArrayList<>();
    List<ModelDescriptor> descriptors = new ArrayList<>();
    long exits = 0;
    for (Plan p : all) {
      ModelDescriptor d = p.apply(model.resolve(p.model()));
      descriptors.add(d);
      exits += d.exitLayers().size();
    }
    List<StagedEncoder> encoders = new ArrayList<>();
    List<Timed> timed = new ArrayList<>();
    List<Boolean> branched = new ArrayList<>();
    try (ProgressBar bar = Progress.bar("report", exits * (sentences + (long) rounds * speedTexts.size()), "sentences")) {
      // Quality: every plan on the whole dataset; its engines stay open for the speed rounds.
      for (int i = 0; i < all.size(); i++) {
        Plan p = all.get(i);
        bar.setExtraMessage(" quality: " + p.name());
        StagedEncoder encoder = StagedEncoder.open(descriptors.get(i), model.settings(), p);
        encoders.add(encoder);
        if (p.useAdapters() && encoder.adapters().isEmpty()) {
          log.warn("plan {}: adapters on, but none are saved for its stages (./exitflow calibrate --plan FILE)",
              p.name());
        }
        runs.add(StsEvaluator.evaluate(encoder, data, bar::stepBy));
        for (int stage = 0; stage < encoder.exits().layers().size(); stage++) {
          branched.add(encoder.head(stage).branch() != null); // a distilled branch (./exitflow distill) at this exit
        }
        encoder.exits().layers().forEach(layer -> timed.add(new Timed(encoder, layer, new ArrayList<>())));
      }
      // Speed: rounds of one pass per plan and exit, in an order rotated each round, so that a
      // machine whose load drifts during the run charges every contender alike; the median pass
      // of each leaves out bursts of other work.
      for (int r = 0; r < rounds; r++) {
        bar.setExtraMessage(" speed: round " + (r + 1) + " of " + rounds);
        for (int k = 0; k < timed.size(); k++) {
          Timed t = timed.get((k + r * timed.size() / rounds) % timed.size());
          long start = System.nanoTime();
          t.encoder().embed(speedTexts, String.valueOf(t.layer()), null);
          t.seconds().add((System.nanoTime() - start) / 1e9);
          bar.stepBy(speedTexts.size());
        }
      }
    } finally {
      for (StagedEncoder e : encoders) {
        e.close();
      }
    }
    double[] speeds = timed.stream().mapToDouble(t -> speedTexts.size() / t.medianSeconds()).toArray();
    Report report = report(data, sentences, new Speed(speedTexts.size(), rounds, model.settings().batchSize()), runs,
        speeds, branched);
    if (longModel != null) {
      long start = System.nanoTime();
      LengthBench.Result result = longTexts(longModel);
      report = report.withLongTexts(result, (System.nanoTime() - start) / 1e9);
    }
    Files.createDirectories(out);
    Files.writeString(out.resolve("report.json"), Json.of(report) + "\n");
    Files.writeString(out.resolve("report.md"), markdown(report));
    ParetoChart.write(report.rows(), report.baseline(), out.resolve("pareto.png"));
    PrintWriter w = spec.commandLine().getOut();
    w.print(markdown(report));
    w.printf("%nwrote %s, %s and %s%n", out.resolve("report.md"), out.resolve("report.json"), out.resolve("pareto.png"));
    w.flush();
    return 0;
  }

  /** The long-text section: what {@code bench --lengths} measures, on the report's plan-free model, after its STS part. */
  private LengthBench.Result longTexts(ModelDescriptor descriptor) throws Exception {
    int batchSize = model.settings().batchSize();
    try (StagedEncoder engine = StagedEncoder.open(descriptor, model.settings());
        ReferenceEncoder reference = new ReferenceEncoder(descriptor, model.settings(), engine.hiddenSize())) {
      LengthBuckets data = LengthBuckets.read(longDataset, longLengths, longTexts, engine.tokenizer());
      long passes = (long) longRounds * longLengths.size() * (descriptor.exitLayers().size() + 2);
      try (ProgressBar bar = Progress.bar("report: long texts", passes, "passes")) {
        return LengthBench.run(engine, reference, data, batchSize, longRounds, List.of(), bar);
      }
    }
  }

  private List<Path> planFiles() throws IOException {
    Path dir = plans;
    String home = System.getProperty("exitflow.home");
    if (!Files.isDirectory(dir) && !dir.isAbsolute() && home != null) {
      dir = Path.of(home).resolve(plans);
    }
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("no plan directory " + plans);
    }
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> files = s.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList();
      if (files.isEmpty()) {
        throw new IllegalArgumentException("no plan files (*.json) in " + dir);
      }
      return files;
    }
  }

  /** {@code speeds} holds the measured sentences/s of every plan's exits, in order. */
  static Report report(StsDataset data, int sentences, Speed speed, List<StsReport> runs, double[] speeds) {
    return report(data, sentences, speed, runs, speeds, List.of());
  }

  /**
   * As above; {@code branched} says, in the same order as {@code speeds}, which exits ran a
   * distilled branch (their adapter column reads {@link #BRANCH}); empty: none did.
   */
  static Report report(StsDataset data, int sentences, Speed speed, List<StsReport> runs, double[] speeds,
      List<Boolean> branched) {
    Baseline baseline = baseline(runs, speeds);
    List<Row> rows = new ArrayList<>();
    int i = 0;
    for (StsReport r : runs) {
      Plan p = r.plan();
      for (int k = 0; k < r.exits().size(); k++) {
        StsReport.Exit e = r.exits().get(k);
        boolean branch = i < branched.size() && branched.get(i);
        double sps = speeds[i++];
        boolean notFaster = (e.adapter() != null || branch) && k + 1 < r.exits().size() && sps <= speeds[i];
        rows.add(new Row(p.name(), r.model(), r.precision(), e.layer(),
            branch ? BRANCH : e.adapter() == null ? null : e.adapter().kind() + " (" + e.adapter().features() + " features)",
            p.keepRatios(), cuts(p), e.spearman() * 100, sps,
            baseline == null ? Double.NaN : sps / baseline.sentencesPerS(), e.meanTokensAtExit(), false, notFaster));
      }
    }
    List<Row> marked = rows.stream().map(row -> new Row(row.plan(), row.model(), row.precision(), row.exit(),
        row.adapter(), row.keepRatios(), row.drops(), row.spearman(), row.sentencesPerS(), row.vsBaseline(),
        row.meanTokensAtExit(), rows.stream().noneMatch(o -> dominates(o, row)), row.notFaster())).toList();
    return new Report(data.file().toString(), data.pairs().size(), sentences, speed, baseline, marked, runs);
  }

  /** Dropped blocks, then the MLP neurons kept when the plan slices them: {@code mlp 0.50} or one share per layer. */
  private static List<String> cuts(Plan p) {
    List<String> cuts = new ArrayList<>(p.drops().stream().map(Drop::label).toList());
    if (p.slicesMlp()) {
      cuts.add("mlp " + p.mlpKeep().stream().map(k -> String.format(Locale.ROOT, "%.2f", k))
          .collect(Collectors.joining("/")));
    }
    return cuts;
  }

  /** The fp32 deep exit of the first plan that keeps every token and drops nothing. */
  private static Baseline baseline(List<StsReport> runs, double[] speeds) {
    int i = 0;
    for (StsReport r : runs) {
      Plan p = r.plan();
      i += r.exits().size();
      if (r.precision().equals("fp32") && p.drops().isEmpty() && !p.slicesMlp() && p.keepRatios().stream().allMatch(k -> k == 1.0)) {
        StsReport.Exit deep = r.exits().get(r.exits().size() - 1);
        return new Baseline(p.name(), deep.layer(), speeds[i - 1]);
      }
    }
    return null;
  }

  private static boolean dominates(Row a, Row b) {
    return a.spearman() >= b.spearman() && a.sentencesPerS() >= b.sentencesPerS()
        && (a.spearman() > b.spearman() || a.sentencesPerS() > b.sentencesPerS());
  }

  static String markdown(Report r) {
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "Spearman x100 on %s (%d pairs, %d distinct sentences). Sentences/s: the "
        + "median of %d passes per plan and exit over its first %d distinct sentences, batch %d, interleaved across "
        + "all plans and exits in one run after the quality pass had warmed every engine up; x deep: over the fp32 "
        + "deep exit%s. "
        + "Tokens at exit: mean tokens per text in the exit's stage after pruning. Pareto: no other row is both "
        + "better and faster.%n%n",
        Path.of(r.dataset()).getFileName(), r.pairs(), r.sentences(), r.speed().rounds(), r.speed().sentences(),
        r.speed().batchSize(),
        r.baseline() == null ? "" : String.format(Locale.ROOT, " (plan %s, %.0f/s)", r.baseline().plan(),
            r.baseline().sentencesPerS())));
    s.append("| plan | precision | exit | adapter | keep ratios | drops | Spearman | sentences/s | x deep | tokens at exit | Pareto |\n");
    s.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (Row row : r.rows()) {
      s.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %.2f | %.0f | %.2f | %.1f | %s |%n",
          row.plan(), row.precision(), row.exit(), row.adapter() == null ? "none"
              : (BRANCH.equals(row.adapter()) ? "branch" : "yes") + (row.notFaster() ? ", no faster than the next exit" : ""),
          row.keepRatios().isEmpty() ? "—" : row.keepRatios().stream().map(k -> String.format(Locale.ROOT, "%.2f", k))
              .collect(Collectors.joining(", ")),
          row.drops().isEmpty() ? "—" : String.join(", ", row.drops()), row.spearman(), row.sentencesPerS(),
          row.vsBaseline(), row.meanTokensAtExit(), row.pareto() ? "yes" : ""));
    }
    LengthBench.Result l = r.longTexts();
    if (l != null) {
      s.append(String.format(Locale.ROOT, "%n## Long texts%n%n%s (the engine as configured, no plan) on %s, max length %d: per token-length bucket "
          + "(more than the previous length, at most this many tokens, [CLS] and [SEP] included), texts/s over %d "
          + "rounds of each bucket's texts and, in brackets, x the plain ONNX Runtime session on the same texts in "
          + "fixed batches of %d in file order; the engine batches them by length, at most %d texts and %d padded "
          + "tokens; \"deep, ORT's batches\": the engine's deep exit on the plain session's own batches. Tokens/s "
          + "count real tokens, not padding. Peak RSS: the whole process's, the most of any contender. The section "
          + "took %.0f s.%n%n",
          l.model(), Path.of(l.dataset()).getFileName(), l.maxLength(), l.rounds(),
          l.batchSize(), l.batchSize(), l.batchTokens(), r.longTextsSeconds()));
      s.append(LengthBench.markdown(l));
    }
    return s.toString();
  }
}
