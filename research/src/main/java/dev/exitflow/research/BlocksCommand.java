package dev.exitflow.research;

import dev.exitflow.gateway.cli.Json;
import dev.exitflow.gateway.cli.ModelOption;
import dev.exitflow.gateway.cli.Progress;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.calibrate.BlockSimilarity;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.compile.Drop;
import dev.exitflow.model.eval.StsFiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "blocks", mixinStandardHelpOptions = true,
    description = "How little each attention block, MLP block and whole layer changes its input: mean cosine "
        + "similarity of input and output states over a corpus. The most similar are the first to drop in a plan. "
        + "With --neurons: how the MLP's intermediate activation mass spreads over its neurons instead.")
final class BlocksCommand implements Callable<Integer> {
  @Option(names = "--corpus", defaultValue = "sts-train.csv",
      description = "Unlabeled sentences: an STS CSV (scores unused) or one sentence per line; a bare name is looked up "
          + "shipped in data/stsbenchmark (default: ${DEFAULT-VALUE})")
  String corpus;

  @Option(names = "--json", description = "Also print the table as one JSON object, last on stdout")
  boolean json;

  @Option(names = "--neurons", description = "Measure MLP activation sparsity per layer (for mlp_keep in a plan)")
  boolean neurons;

  @Option(names = "--sentences", defaultValue = "2000",
      description = "With --neurons: the corpus' first N sentences (each keeps 6 x 1536 floats; default: ${DEFAULT-VALUE})")
  int sentenceLimit;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  record Report(String model, String corpus, int sentences, List<BlockSimilarity.Row> blocks) {}

  @Override
  public Integer call() throws Exception {
    ModelDescriptor descriptor = model.resolve();
    Path corpusFile = StsFiles.locate(corpus);
    List<String> sentences = Corpus.read(corpusFile);
    if (neurons) {
      return NeuronTable.print(descriptor, model.settings(), corpusFile,
          sentences.subList(0, Math.min(sentenceLimit, sentences.size())), json, spec.commandLine().getOut());
    }
    List<BlockSimilarity.Row> rows;
    try (ProgressBar bar = Progress.bar("blocks " + descriptor.name(), sentences.size(), "sentences")) {
      rows = BlockSimilarity.measure(descriptor, model.settings(), sentences, bar::stepBy);
    }
    Map<Integer, Map<Drop.Block, Double>> byLayer = new TreeMap<>();
    rows.forEach(r -> byLayer.computeIfAbsent(r.layer(), k -> new TreeMap<>()).put(r.block(), r.cosine()));
    List<BlockSimilarity.Row> ranked = rows.stream().filter(r -> r.block() != Drop.Block.LAYER)
        .sorted(Comparator.comparingDouble(BlockSimilarity.Row::cosine).reversed()).toList();
    PrintWriter out = spec.commandLine().getOut();
    out.printf("%s: cosine similarity of each block's input and output, mean over the %d sentences' tokens of %s%n",
        descriptor.name(), sentences.size(), corpusFile);
    out.printf("%-6s %10s %10s %12s%n", "layer", "attention", "mlp", "whole layer");
    byLayer.forEach((layer, c) -> out.printf("%-6d %10.4f %10.4f %12.4f%n", layer, c.get(Drop.Block.ATTENTION),
        c.get(Drop.Block.MLP), c.get(Drop.Block.LAYER)));
    out.printf("most redundant first: %s%n", ranked.stream()
        .map(r -> new Drop(r.layer(), r.block()).label() + String.format(" %.4f", r.cosine())).toList());
    if (json) {
      out.println(Json.of(new Report(descriptor.name(), corpusFile.toString(), sentences.size(), rows)));
    }
    out.flush();
    return 0;
  }
}
