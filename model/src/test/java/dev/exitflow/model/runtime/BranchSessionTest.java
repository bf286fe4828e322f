package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageCompiler;
import dev.exitflow.model.tokenize.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A saved branch replaces pooling at its exit and nothing else: here the branch of exit 2 is layer
 * 3 unchanged (the stage compiler's cut of it), so exit 2 with the branch must give what an exit
 * after layer 3 gives, while exit 4 and the deep exit stay bit for bit what they were.
 */
class BranchSessionTest {
  private static final int HIDDEN = 384;
  private static final List<String> TEXTS = List.of("A man is playing a guitar.",
      "The European Parliament adopted the resolution after a long debate on fisheries.", "Cats sleep.");

  @Test
  void exitHeadRunsTheSavedBranchAndLeavesTheOtherExitsAlone(@TempDir Path cache, @TempDir Path cut) throws Exception {
    ModelSettings settings = ModelSettings.create(ConfigFactory.parseMap(Map.of("exitflow.model.cache-dir",
        cache.toString())).withFallback(ConfigFactory.load()));
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    List<Embedding> plain2;
    List<Embedding> plain4;
    List<Embedding> plainDeep;
    CompiledModel compiled;
    try (StagedEncoder encoder = StagedEncoder.open(model, settings)) {
      assertNull(encoder.head(0).branch());
      assertFalse(encoder.head(0).calibrated(), "plain pooling does not imitate the deep exit");
      plain2 = encoder.embed(TEXTS, "2", null);
      plain4 = encoder.embed(TEXTS, "4", null);
      plainDeep = encoder.embed(TEXTS, "deep", null);
      compiled = encoder.compiled();
    }
    saveLayer3Branch(model, compiled, cut);
    // distill records the branch's fidelity beside it; a served exit reports it and auto may leave there.
    Files.writeString(BranchSession.file(compiled, 2).resolveSibling("exit-2.json"), "{\"fidelity\": 0.9731}");

    List<Embedding> exit3;
    try (StagedEncoder reference = StagedEncoder.open(model.withExitLayers(List.of(3, 6)),
        ModelSettings.create(ConfigFactory.parseMap(Map.of("exitflow.model.cache-dir", cut.resolve("ref").toString()))
            .withFallback(ConfigFactory.load())))) {
      exit3 = reference.embed(TEXTS, "3", null);
    }
    try (StagedEncoder encoder = StagedEncoder.open(model, settings)) {
      assertNotNull(encoder.head(0).branch());
      assertTrue(encoder.head(0).calibrated(), "a distilled branch counts as calibration, for auto");
      assertEquals(0.9731, encoder.head(0).fidelity(), 1e-12);
      assertTrue(Double.isNaN(encoder.head(1).fidelity()), "exit 4: neither adapter nor branch");
      List<Embedding> branched = encoder.embed(TEXTS, "2", null);
      for (int i = 0; i < TEXTS.size(); i++) {
        double cosine = dot(branched.get(i).vector(), exit3.get(i).vector());
        assertTrue(cosine > 0.99999, "exit 2 + layer-3 branch vs exit 3: " + cosine);
        assertTrue(dot(branched.get(i).vector(), plain2.get(i).vector()) < 0.999, "the branch changed nothing");
        assertArrayEquals(plain4.get(i).vector(), encoder.embed(TEXTS, "4", null).get(i).vector());
        assertArrayEquals(plainDeep.get(i).vector(), encoder.embed(TEXTS, "deep", null).get(i).vector());
        assertEquals(2, branched.get(i).exitLayer());
      }
    }
    // Adapters (and so branches) off: plain pooling again.
    try (StagedEncoder encoder = StagedEncoder.open(model, settings.withAdapters(false))) {
      assertNull(encoder.head(0).branch());
      assertArrayEquals(plain2.get(0).vector(), encoder.embed(TEXTS, "2", null).get(0).vector());
    }
  }

  /**
   * A branch replaces its exit's adapter, so its stage neither pools features for that exit nor
   * applies the adapter there: here exit 2 runs a branch, exit 4 an adapter, so stage 1 pools the
   * features exit 4 reads (they start at layer 0) and nothing more.
   */
  @Test
  void aBranchedExitReadsNoFeatures(@TempDir Path cache, @TempDir Path cut) throws Exception {
    ModelSettings settings = ModelSettings.create(ConfigFactory.parseMap(Map.of("exitflow.model.cache-dir",
        cache.toString())).withFallback(ConfigFactory.load())).withPoolingInOnnxRuntime(true);
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    ExitAdapters adapters = new ExitAdapters(Map.of(2, randomAdapter(2), 4, randomAdapter(4)));
    StageOpener plain = StageOpener.withAdapters(model, settings, adapters);
    assertTrue(plain.features().needed(0, 0, 0), "without a branch exit 2's adapter reads features");
    assertNotNull(plain.features().adapter(0));

    saveLayer3Branch(model, plain.compiled(), cut);
    StageOpener branched = StageOpener.withAdapters(model, settings, adapters);
    FeaturePolicy features = branched.features();
    assertNull(features.adapter(0));
    assertFalse(features.reads(0));
    assertFalse(features.needed(0, 0, 0), "a batch leaving at the branched exit 2 pools no features");
    assertTrue(features.needed(0, 1, 1), "exit 4's adapter reads layers 0 to 4");
    assertTrue(features.collects(0));
    assertTrue(features.collects(1));
    assertFalse(features.collects(2));
    try (TextTokenizer tokenizer = new TextTokenizer(model); StageSession first = branched.openStage(0)) {
      PaddedBatch out = first.run(tokenizer.tokenize(TEXTS), null, true);
      assertNotNull(out.features());
      assertNull(out.adapted(), "exit 2's adapter was applied although its branch replaces it");
    }
    try (StagedEncoder encoder = StagedEncoder.open(branched)) {
      assertNotNull(encoder.head(0).branch());
      assertNull(encoder.head(0).adapter());
      assertNotNull(encoder.head(1).adapter());
    }
  }

  /** Layer 3 alone, as a stage, saved as exit 2's branch: the branch graph distill writes has exactly this shape. */
  private static void saveLayer3Branch(ModelDescriptor model, CompiledModel compiled, Path cut) throws Exception {
    CompiledModel layer3 = StageCompiler.compile(model.withExitLayers(List.of(2, 3, 6)), cut);
    Path branch = BranchSession.file(compiled, 2);
    Files.createDirectories(branch.getParent());
    Files.copy(layer3.stageFile(layer3.stages().get(1)), branch);
  }

  /** A random affine map of the real width (all-zero weights trip ONNX Runtime's graph optimizer). */
  private static ExitAdapter randomAdapter(int layer) {
    int features = LayerFeatures.width(layer, HIDDEN);
    Random random = new Random(layer);
    float[] mean = new float[features];
    float[] weights = new float[features * HIDDEN];
    float[] bias = new float[HIDDEN];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (float) (random.nextGaussian() / Math.sqrt(features));
    }
    for (int j = 0; j < features; j++) {
      mean[j] = (float) random.nextGaussian() * 0.1f;
    }
    for (int d = 0; d < HIDDEN; d++) {
      bias[d] = (float) random.nextGaussian() * 0.01f;
    }
    return new ExitAdapter("test", layer, features, HIDDEN, 0.01, 1, Double.NaN, mean, weights, bias);
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
