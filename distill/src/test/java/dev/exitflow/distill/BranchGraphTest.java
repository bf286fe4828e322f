package dev.exitflow.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real model, ONNX Runtime and libtorch: the DJL branch reproduces the layer it starts from,
 * training lowers its loss, and the exported ONNX branch computes what the DJL branch computes
 * (cosine >= 0.9999) once its weights differ from the model's.
 */
class BranchGraphTest {
  private static final int EXIT = 2;
  private static ModelSettings settings;
  private static ModelDescriptor model;
  private static StagedEncoder encoder;
  private static ExitStates states;
  private static Engine engine;
  private static NDManager root;

  @BeforeAll
  static void open() throws Exception {
    settings = ModelSettings.create(ConfigFactory.load()).withAdapters(false);
    model = new ModelRepository(settings).resolve("all-minilm-l6-v2");
    encoder = StagedEncoder.open(model, settings);
    List<String> sentences = Corpus.read(StsFiles.locate("sts-dev.csv")).subList(0, 192);
    states = ExitStates.collect(encoder, sentences, new int[] {0, 1}, true, n -> {});
    engine = Torch.engine(2);
    root = engine.newBaseManager();
  }

  @AfterAll
  static void close() throws Exception {
    root.close();
    encoder.close();
  }

  @Test
  void untrainedBranchIsTheNextLayer(@TempDir Path dir) throws Exception {
    // With layer 3's own weights the DJL layer must compute what the model's layer 3 computes in ONNX Runtime.
    try (BranchLayer branch = new BranchLayer(root, LayerWeights.read(model.onnxFile(), EXIT), 12)) {
      Path graph = dir.resolve("exit-2.onnx");
      BranchGraph.write(model, LayerWeights.read(model.onnxFile(), EXIT), graph);
      double cosine = BranchCheck.minCosine(root, branch, graph, states, 0, EXIT);
      assertTrue(cosine >= BranchCheck.MIN_COSINE, "DJL layer 3 vs the model's own layer 3 in ONNX: " + cosine);
    }
  }

  @Test
  void int8LayerDequantizesAndRequantizesToTheModelsOwnValues(@TempDir Path dir) throws Exception {
    ModelDescriptor int8 = new ModelRepository(settings).resolve("all-minilm-l6-v2-q");
    ai.onnx.proto.OnnxMl.GraphProto graph;
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(int8.onnxFile())) {
      graph = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(in).getGraph();
    }
    LayerWeights layer = LayerWeights.of(graph, EXIT);
    for (String dense : LayerWeights.DENSE_WEIGHTS) {
      LayerWeights.Quantized own = LayerWeights.quantizedWeight(graph, EXIT, dense);
      LayerWeights.Quantized again = LayerWeights.Quantized.quantize(own, layer.tensors().get(dense));
      int differ = 0;
      for (int i = 0; i < own.values().length; i++) {
        differ += Math.abs(own.values()[i] - again.values()[i]) > 1 ? 1 : 0;
      }
      assertTrue(differ == 0, dense + ": " + differ + " int8 values moved by more than 1 on requantizing");
    }
    // The int8 model's layer 3 in DJL (dequantized weights) against its own int8 layer 3 re-exported.
    try (StagedEncoder q = StagedEncoder.open(int8, settings);
        BranchLayer branch = new BranchLayer(root, layer, 12)) {
      ExitStates qStates = ExitStates.collect(q, Corpus.read(StsFiles.locate("sts-dev.csv")).subList(0, 128),
          new int[] {0}, false, n -> {});
      Path file = dir.resolve("exit-2-int8.onnx");
      BranchGraph.write(int8, layer, file);
      double cosine = BranchCheck.minCosine(root, branch, file, qStates, 0, EXIT);
      assertTrue(cosine >= BranchCheck.MIN_COSINE_INT8, "int8 ONNX layer 3 vs DJL layer 3 (dequantized): " + cosine);
    }
  }

  @Test
  void trainingLowersTheLossAndTheExportMatchesTheTrainedBranch(@TempDir Path dir) throws Exception {
    LayerWeights init = LayerWeights.read(model.onnxFile(), EXIT);
    try (BranchLayer branch = new BranchLayer(root, init, 12)) {
      List<int[]> batches = Batches.byLength(states, 16);
      BranchTrainer trainer = new BranchTrainer(engine, root, branch, 1e-4f, batches.size() * 3L);
      double first = trainer.epoch(states, 0, batches, new Random(1), n -> {});
      trainer.epoch(states, 0, batches, new Random(2), n -> {});
      double third = trainer.epoch(states, 0, batches, new Random(3), n -> {});
      assertTrue(third < first, "loss " + first + " -> " + third);

      LayerWeights trained = branch.weights();
      float[] before = init.tensors().get("q.weight").values();
      float[] after = trained.tensors().get("q.weight").values();
      double change = 0;
      for (int i = 0; i < before.length; i++) {
        change = Math.max(change, Math.abs(before[i] - after[i]));
      }
      assertTrue(change > 1e-4, "training left the weights as they were: " + change);

      Path graph = dir.resolve("exit-2.onnx");
      BranchGraph.write(model, trained, graph);
      double cosine = BranchCheck.minCosine(root, branch, graph, states, 0, EXIT);
      assertTrue(cosine >= BranchCheck.MIN_COSINE, "ONNX branch vs trained DJL branch: " + cosine);

      // The untrained graph differs from the trained branch: the check would catch a stale export.
      Path untrained = dir.resolve("untrained.onnx");
      BranchGraph.write(model, init, untrained);
      assertTrue(BranchCheck.minCosine(root, branch, untrained, states, 0, EXIT) < BranchCheck.MIN_COSINE);
      assertEquals(EXIT, trained.layer());
    }
  }
}
