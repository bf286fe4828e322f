package dev.exitflow.research;

import dev.exitflow.gateway.cli.Json;
import dev.exitflow.gateway.cli.ModelOption;
import dev.exitflow.gateway.cli.Progress;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.runtime.StagedEncoder;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Throughput of the engine at each exit against two peers, measured side by side in one run:
 * a plain ONNX Runtime session on the unmodified model file (the reference: same batches, same
 * tokenizer, same session options, same pooling) and langchain4j's in-process MiniLM model.
 * Contenders alternate within each round, in a rotating order, so drift in machine speed hits
 * all of them alike.
 *
 * <p>The reference embeds the sentences in a loop over fixed batches, as a plain ONNX Runtime user
 * would. The engine's exits are given the whole list and batch it themselves, grouping texts of
 * similar length; the row "same batches" runs the deep exit on the reference's own batches, to
 * show what the staging alone costs or saves.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Sentences/s of every exit against a plain ONNX Runtime session and langchain4j; "
    + "with --dataset or --lengths, texts/s and tokens/s per token-length bucket against the plain session.")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--sentences", defaultValue = "1024", description = "Distinct STS-B test sentences per pass (default: ${DEFAULT-VALUE})")
  int sentences;

  @Option(names = "--rounds", defaultValue = "3", description = "Timed passes per contender (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--json", description = "Print the result as one JSON object, last on stdout")
  boolean json;

  @Option(names = "--dataset", paramLabel = "FILE", description = "Measure per token-length bucket on this file's "
      + "texts (one per line, or an STS CSV); a bare name is one shipped in data/ (default with --lengths: "
      + "europarl-passages-en.txt)")
  String dataset;

  @Option(names = "--lengths", split = ",", paramLabel = "N,N,...", description = "Token-length buckets, increasing, "
      + "e.g. 64,128,256,512: bucket L holds texts of more than the previous length and at most L tokens "
      + "(default with --dataset: one bucket up to the maximum length)")
  List<Integer> lengths;

  @Option(names = "--texts-per-bucket", defaultValue = "64", description = "Texts per bucket and pass, evenly "
      + "spaced over the dataset (default: ${DEFAULT-VALUE})")
  int textsPerBucket;

  @Option(names = "--max-length", paramLabel = "TOKENS", description = "Truncate at this length instead of the "
      + "model's (all-minilm-l6-v2: 256; its position embeddings reach 512). Saved adapters are keyed on the "
      + "length, so shallow exits then run without them")
  Integer maxLength;

  @Option(names = "--token-budgets", split = ",", paramLabel = "N,N,...", description = "With --lengths, also time "
      + "the deep exit on length-sorted batches of at most this many padded tokens, each budget a contender")
  List<Integer> tokenBudgets;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  record ExitResult(int layer, double sps, double ratioVsReference) {}

  record Result(String model, int sentences, int rounds, int batchSize, double referenceSps,
      double deepSameBatchesSps, Double langchain4jSps, List<ExitResult> exits) {}

  /** One way of embedding all the sentences once; {@code seconds} accumulates over rounds. */
  private record Contender(String name, Pass pass, double[] seconds) {
    Contender(String name, Pass pass) {
      this(name, pass, new double[1]);
    }
  }

  @FunctionalInterface
  private interface Pass {
    void run(List<String> texts) throws Exception;
  }

  @FunctionalInterface
  private interface BatchRunner {
    void run(List<String> batch) throws Exception;
  }

  private Pass inBatches(BatchRunner runner, int batchSize) {
    return texts -> {
      for (int i = 0; i < texts.size(); i += batchSize) {
        runner.run(texts.subList(i, Math.min(texts.size(), i + batchSize)));
      }
    };
  }

  @Override
  public Integer call() throws Exception {
    ModelDescriptor descriptor = model.resolve();
    int batchSize = model.settings().batchSize();
    if (dataset != null || lengths != null || maxLength != null) {
      return byLength(maxLength == null ? descriptor : descriptor.withMaxSequenceLength(maxLength), batchSize);
    }
    List<String> texts = new ArrayList<>(StsDataset.read(StsFiles.locate("sts-test.csv")).sentences().keySet());
    texts = texts.subList(0, Math.min(sentences, texts.size()));

    try (StagedEncoder engine = StagedEncoder.open(descriptor, model.settings());
        ReferenceEncoder reference = new ReferenceEncoder(descriptor, model.settings(), engine.hiddenSize())) {
      List<Contender> contenders = new ArrayList<>();
      Contender ref = new Contender("reference", inBatches(reference::embedBatch, batchSize));
      contenders.add(ref);
      for (int layer : descriptor.exitLayers()) {
        contenders.add(new Contender("exit " + layer, t -> engine.embed(t, String.valueOf(layer), null)));
      }
      Contender sameBatches = new Contender("deep, same batches", inBatches(b -> engine.embed(b, "deep", null), batchSize));
      contenders.add(sameBatches);
      Contender peer = Langchain4jPeer.forModel(descriptor.name())
          .map(p -> new Contender("langchain4j", inBatches(p::embed, batchSize)))
          .orElse(null);
      if (peer != null) {
        contenders.add(peer);
      }

      for (Contender c : contenders) { // warm-up: sessions allocate and optimise on first use
        c.pass().run(texts.subList(0, Math.min(texts.size(), 2 * batchSize)));
      }
      try (ProgressBar bar = Progress.bar("bench", (long) rounds * contenders.size(), "passes")) {
        for (int r = 0; r < rounds; r++) {
          for (int k = 0; k < contenders.size(); k++) {
            Contender c = contenders.get((k + r) % contenders.size());
            long start = System.nanoTime();
            c.pass().run(texts);
            c.seconds()[0] += (System.nanoTime() - start) / 1e9;
            bar.step();
          }
        }
      }

      double total = (double) texts.size() * rounds;
      double refSps = total / ref.seconds()[0];
      List<ExitResult> exits = new ArrayList<>();
      for (int i = 0; i < descriptor.exitLayers().size(); i++) {
        double sps = total / contenders.get(i + 1).seconds()[0];
        exits.add(new ExitResult(descriptor.exitLayers().get(i), sps, sps / refSps));
      }
      Double peerSps = peer == null ? null : total / peer.seconds()[0];
      Result result = new Result(descriptor.name(), texts.size(), rounds, batchSize, refSps,
          total / sameBatches.seconds()[0], peerSps, exits);
      print(result);
      return 0;
    }
  }

  private int byLength(ModelDescriptor descriptor, int batchSize) throws Exception {
    List<Integer> buckets = lengths != null ? lengths : List.of(descriptor.maxSequenceLength());
    List<Integer> budgets = tokenBudgets != null ? tokenBudgets : List.of();
    int longest = buckets.get(buckets.size() - 1);
    if (longest > descriptor.maxSequenceLength()) {
      throw new ParameterException(spec.commandLine(), "bucket " + longest + " is longer than " + descriptor.name()
          + "'s maximum length " + descriptor.maxSequenceLength() + "; raise it with --max-length");
    }
    try (StagedEncoder engine = StagedEncoder.open(descriptor, model.settings());
        ReferenceEncoder reference = new ReferenceEncoder(descriptor, model.settings(), engine.hiddenSize())) {
      LengthBuckets data = LengthBuckets.read(dataset != null ? dataset : "europarl-passages-en.txt", buckets,
          textsPerBucket, engine.tokenizer());
      LengthBench.Result result;
      long passes = (long) rounds * buckets.size() * (descriptor.exitLayers().size() + 2 + budgets.size());
      try (ProgressBar bar = Progress.bar("bench", passes, "passes")) {
        result = LengthBench.run(engine, reference, data, batchSize, rounds, budgets, bar);
      }
      PrintWriter out = spec.commandLine().getOut();
      LengthBench.print(result, out);
      if (json) {
        out.println(Json.of(result));
      }
      out.flush();
      return 0;
    }
  }

  private void print(Result r) {
    PrintWriter out = spec.commandLine().getOut();
    out.printf("%s: %d sentences x %d rounds, batch %d%n", r.model(), r.sentences(), r.rounds(), r.batchSize());
    out.printf("%-34s %12s %14s%n", "contender", "sentences/s", "vs reference");
    out.printf("%-34s %12.1f %14.2f%n", "reference (plain ORT session)", r.referenceSps(), 1.0);
    for (ExitResult e : r.exits()) {
      out.printf("%-34s %12.1f %14.2f%n", "exitflow exit " + e.layer(), e.sps(), e.ratioVsReference());
    }
    out.printf("%-34s %12.1f %14.2f%n", "exitflow deep, reference's batches",
        r.deepSameBatchesSps(), r.deepSameBatchesSps() / r.referenceSps());
    if (r.langchain4jSps() != null) {
      out.printf("%-34s %12.1f %14.2f%n", "langchain4j", r.langchain4jSps(), r.langchain4jSps() / r.referenceSps());
    }
    if (json) {
      out.println(Json.of(r));
    }
    out.flush();
  }
}
