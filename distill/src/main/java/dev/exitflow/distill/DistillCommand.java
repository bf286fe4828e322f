package dev.exitflow.distill;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.cli.Json;
import dev.exitflow.gateway.cli.ModelOption;
import dev.exitflow.gateway.cli.Progress;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.runtime.BranchSession;
import dev.exitflow.model.runtime.StagedEncoder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "distill", mixinStandardHelpOptions = true,
    description = "Trains, per shallow exit, an exit branch (one encoder layer initialised from the next layer, "
        + "then mean pooling) to imitate the deep embedding of an unlabeled corpus; keeps the epoch with the best "
        + "sts-dev Spearman and saves its weights beside the compiled stages. Defaults: exitflow.distill.")
final class DistillCommand implements Callable<Integer> {
  @Option(names = "--corpus", description = "Unlabeled sentences (files joined with +); default exitflow.distill.corpus")
  String corpus;

  @Option(names = "--exits", split = ",", description = "Shallow exits to train a branch for (layers); default all")
  List<Integer> exits;

  @Option(names = "--epochs", description = "Passes over the corpus; default exitflow.distill.epochs")
  Integer epochs;

  @Option(names = "--learning-rate", description = "Adam's peak rate; default exitflow.distill.learning-rate")
  Float learningRate;

  @Option(names = "--mlp-units", description = "Inner units of the branch's MLP, the strongest of the layer's kept "
      + "(cheaper branch); 0 keeps all; default exitflow.distill.mlp-units")
  Integer mlpUnits;

  @Option(names = "--token-weight", description = "Weight of a token-level loss against the deep layer's token "
      + "states (0: pooled loss only); default exitflow.distill.token-weight")
  Float tokenWeight;

  @Option(names = "--pair-weight", description = "Weight of a loss on the batch's pairwise cosine similarities "
      + "(branch against deep); default exitflow.distill.pair-weight")
  Float pairWeight;

  @Option(names = "--augment", description = "Variants (words dropped, or a span) of each corpus sentence added "
      + "to it; default exitflow.distill.augment")
  Integer augment;

  @Option(names = "--limit", description = "Use only the first N corpus sentences (quick checks)")
  Integer limit;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  /** What a saved branch was trained on and scored, beside its graph (exit-N.json). */
  record Fit(String corpus, int sentences, int mlpUnits, int epoch, int epochs, float learningRate, int batchSize,
      float tokenWeight, double lastLoss, double stsDev, double stsTest, double onnxMinCosine, String precision,
      double onnxStsDev, double fidelity, float pairWeight, int augment) {}

  @Override
  public Integer call() throws Exception {
    Config c = ConfigFactory.load().getConfig("exitflow.distill");
    String corpusName = corpus != null ? corpus : c.getString("corpus");
    int epochCount = epochs != null ? epochs : c.getInt("epochs");
    float rate = learningRate != null ? learningRate : (float) c.getDouble("learning-rate");
    int batchSize = c.getInt("batch-size");
    float tokens = tokenWeight != null ? tokenWeight : (float) c.getDouble("token-weight");
    float pairs = pairWeight != null ? pairWeight : (float) c.getDouble("pair-weight");
    PrintWriter out = spec.commandLine().getOut();
    long started = System.nanoTime();
    ModelDescriptor descriptor = model.resolve();
    List<String> sentences = Corpus.named(corpusName);
    if (limit != null && limit < sentences.size()) {
      sentences = sentences.subList(0, limit);
    }
    int copies = augment != null ? augment : c.getInt("augment");
    int original = sentences.size();
    sentences = Augment.of(sentences, copies, 42);
    StsDataset dev = StsDataset.read(StsFiles.locate(c.getString("dev")));
    StsDataset test = StsDataset.read(StsFiles.locate(c.getString("test")));
    Engine engine = Torch.engine(c.getInt("threads"));
    try (StagedEncoder encoder = StagedEncoder.open(descriptor, model.settings().withAdapters(false));
        NDManager root = engine.newBaseManager()) {
      List<Integer> layers = encoder.exits().layers();
      List<Integer> wanted = exits != null ? exits : layers.subList(0, layers.size() - 1);
      int[] stages = wanted.stream().mapToInt(layers::indexOf).toArray();
      for (int i = 0; i < stages.length; i++) {
        if (stages[i] < 0 || stages[i] == layers.size() - 1) {
          throw new IllegalArgumentException("exit " + wanted.get(i) + " is not a shallow exit of " + layers);
        }
      }
      ExitStates train;
      try (ProgressBar bar = Progress.bar("exit states + deep targets", sentences.size(), "sentences")) {
        train = ExitStates.collect(encoder, sentences, stages, true, tokens > 0, bar::stepBy);
      }
      // sts-dev with its deep embeddings: the exported branch's fidelity is measured there.
      ExitStates devStates = ExitStates.collect(encoder, BranchEval.sentences(dev), stages, true, n -> {});
      ExitStates testStates = ExitStates.collect(encoder, BranchEval.sentences(test), stages, false, n -> {});
      out.printf("%s: %d corpus sentences (%s) + %d variants, exit states and deep embeddings in %.1f s%n",
          descriptor.name(), original, corpusName, sentences.size() - original, (System.nanoTime() - started) / 1e9);
      out.flush();
      for (int e = 0; e < stages.length; e++) {
        int exitLayer = wanted.get(e);
        // Layer exitLayer+1 (1-based), named layer.exitLayer by the exporter.
        LayerWeights init = LayerWeights.read(descriptor.onnxFile(), exitLayer)
            .narrowMlp(mlpUnits != null ? mlpUnits : c.getInt("mlp-units"));
        try (BranchLayer branch = new BranchLayer(root, init, c.getInt("attention-heads"))) {
          List<int[]> batches = Batches.byLength(train, batchSize);
          BranchTrainer trainer = new BranchTrainer(engine, root, branch, rate, tokens, pairs,
              (long) batches.size() * epochCount);
          double bestDev = BranchEval.spearman(root, branch, dev, devStates, e);
          LayerWeights best = branch.weights();
          int bestEpoch = 0;
          out.printf("exit %d: branch = layer %d's weights, MLP %d units; epoch 0 (untrained): sts-dev %.2f%n",
              exitLayer, exitLayer + 1, init.tensors().get("i.bias").values().length, bestDev);
          out.flush();
          Random random = new Random(42);
          double lastLoss = Double.NaN;
          for (int epoch = 1; epoch <= epochCount; epoch++) {
            long t0 = System.nanoTime();
            double loss;
            try (ProgressBar bar = Progress.bar("exit " + exitLayer + " epoch " + epoch, train.size(), "sentences")) {
              loss = trainer.epoch(train, e, batches, random, bar::stepBy);
            }
            lastLoss = loss;
            double devSpearman = BranchEval.spearman(root, branch, dev, devStates, e);
            out.printf("exit %d epoch %d: loss %.5f (mean 1 - cos to deep), sts-dev %.2f, %.1f s, %d steps skipped%n",
                exitLayer, epoch, loss, devSpearman, (System.nanoTime() - t0) / 1e9, trainer.skipped());
            out.flush();
            if (devSpearman > bestDev) {
              bestDev = devSpearman;
              best = branch.weights();
              bestEpoch = epoch;
            }
          }
          branch.load(best);
          double testSpearman = BranchEval.spearman(root, branch, test, testStates, e);
          out.printf("exit %d: kept epoch %d: sts-dev %.2f, sts-test %.2f%n", exitLayer, bestEpoch, bestDev,
              testSpearman);
          Path file = BranchSession.file(encoder.compiled(), exitLayer);
          BranchGraph.write(descriptor, best, file);
          double agreement = BranchCheck.minCosine(root, branch, file, devStates, e, exitLayer);
          double needed = BranchCheck.minCosine(descriptor.precision());
          if (needed < BranchCheck.MIN_COSINE) {
            // int8: the floor is also what the model's own (untrained) layer reaches in the same check,
            // less 0.01: its quantization error, not a wrong export, is what the check then sees.
            Path own = file.resolveSibling("exit-" + exitLayer + "-untrained.onnx");
            try (BranchLayer untrained = new BranchLayer(root, init, c.getInt("attention-heads"))) {
              BranchGraph.write(descriptor, init, own);
              double ownAgreement = BranchCheck.minCosine(root, untrained, own, devStates, e, exitLayer);
              out.printf("exit %d: the untrained %s layer against its DJL form: lowest cosine %.6f%n", exitLayer,
                  descriptor.precision(), ownAgreement);
              needed = Math.min(needed, ownAgreement - 0.01);
            } finally {
              Files.deleteIfExists(own);
            }
          }
          if (agreement < needed) {
            Files.delete(file);
            throw new IllegalStateException(String.format("the exported branch of exit %d disagrees with the trained "
                + "one (lowest cosine %.6f on sts-dev < %s); not saved", exitLayer, agreement, needed));
          }
          double exported = BranchCheck.spearman(file, exitLayer, dev, devStates, e);
          double fidelity = BranchCheck.fidelity(file, exitLayer, devStates, e);
          out.printf("exit %d: the exported %s branch scores sts-dev %.2f in ONNX Runtime, fidelity %.4f"
              + " (mean cosine to the deep exit)%n", exitLayer, descriptor.precision(), exported, fidelity);
          Fit fit = new Fit(corpusName, sentences.size(), init.tensors().get("i.bias").values().length, bestEpoch,
              epochCount, rate, batchSize, tokens, lastLoss, bestDev, testSpearman, agreement, descriptor.precision(), exported,
              fidelity, pairs, copies);
          Files.writeString(file.resolveSibling("exit-" + exitLayer + ".json"), Json.of(fit));
          out.printf("exit %d: saved %s (ONNX against DJL: lowest cosine %.6f over sts-dev)%n", exitLayer, file,
              agreement);
          out.flush();
        }
      }
    }
    out.printf("distill took %.1f s%n", (System.nanoTime() - started) / 1e9);
    out.flush();
    return 0;
  }
}
