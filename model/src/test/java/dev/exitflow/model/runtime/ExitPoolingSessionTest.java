package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pooling the layer features and applying the exit adapters inside ONNX Runtime computes what
 * pooling in Java and the adapter's own session computed, on real sentences through the real
 * stages, and leaves the hidden states (so the deep exit) bit for bit as they were.
 */
class ExitPoolingSessionTest {
  private static final int HIDDEN = 384;

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q"})
  void sameEmbeddingsAsPoolingInJava(String name) throws Exception {
    ModelDescriptor model = TestModels.builtin(name);
    List<String> sentences =
        new ArrayList<>(StsDataset.read(TestModels.sts("sts-test.csv")).sentences().keySet()).subList(0, 96);
    // Exit 2 reads every feature; exit 4 as a means-and-sep fit leaves a third out (the Gather path).
    ExitAdapters adapters = new ExitAdapters(Map.of(
        2, adapter(2, LayerFeatures.width(2, HIDDEN), false, 11),
        4, adapter(4, LayerFeatures.width(4, HIDDEN), true, 12)));
    ModelSettings settings = TestModels.settings();
    try (StagedEncoder inOrt = StagedEncoder.open(model, settings.withPoolingInOnnxRuntime(true), adapters);
        StagedEncoder inJava = StagedEncoder.open(model, settings.withPoolingInOnnxRuntime(false), adapters)) {
      for (String exit : List.of("2", "4")) {
        List<Embedding> a = inOrt.embed(sentences, exit, null);
        List<Embedding> b = inJava.embed(sentences, exit, null);
        for (int i = 0; i < sentences.size(); i++) {
          double cos = Vectors.cosine(a.get(i).vector(), b.get(i).vector());
          assertTrue(cos >= 0.9999, "exit " + exit + ", sentence " + i + ": cosine " + cos);
        }
      }
      List<Embedding> deepOrt = inOrt.embed(sentences, "6", null);
      List<Embedding> deepJava = inJava.embed(sentences, "6", null);
      for (int i = 0; i < sentences.size(); i++) {
        assertArrayEquals(deepJava.get(i).vector(), deepOrt.get(i).vector()); // bit for bit
      }

      List<TokenizedText> tokens = inOrt.tokenizer().tokenize(sentences.subList(0, 32));
      PaddedBatch ort = inOrt.runBatch(tokens, 1);
      PaddedBatch java = inJava.runBatch(tokens, 1);
      assertArrayEquals(java.values(), ort.values()); // the states the next stage reads
      assertNotNull(ort.adapted());
      assertNull(java.adapted());
      for (int k = 0; k < tokens.size(); k++) {
        assertEquals(java.features()[k].length, ort.features()[k].length);
        float scale = 0;
        float worst = 0;
        for (int j = 0; j < java.features()[k].length; j++) {
          scale = Math.max(scale, Math.abs(java.features()[k][j]));
          worst = Math.max(worst, Math.abs(java.features()[k][j] - ort.features()[k][j]));
        }
        assertTrue(worst <= 1e-5 * scale, "text " + k + ": features differ by " + worst + " of " + scale);
      }

      if (name.endsWith("-q")) {
        return; // int8 activations are quantized per batch: another company changes the states a little
      }
      // Re-batched between stages in another company and order, a text's exit-4 embedding stays.
      PaddedBatch first = inOrt.stage(0).run(tokens, null);
      List<HiddenState> states = first.split();
      List<TokenizedText> some = List.of(tokens.get(9), tokens.get(3));
      PaddedBatch rebatched = inOrt.stage(1).run(some, PaddedBatch.of(some, List.of(states.get(9), states.get(3)), HIDDEN));
      PaddedBatch together = inOrt.stage(1).run(tokens, first);
      assertTrue(Vectors.cosine(rebatched.adapted()[1], together.adapted()[3]) >= 0.9999);
    }
  }

  /** A random affine map of the real width; {@code meansAndSep}: zero weights where such a fit has them. */
  private static ExitAdapter adapter(int layer, int features, boolean meansAndSep, long seed) {
    Random random = new Random(seed);
    float[] mean = new float[features];
    float[] weights = new float[features * HIDDEN];
    float[] bias = new float[HIDDEN];
    float scale = (float) (1 / Math.sqrt(features));
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (float) random.nextGaussian() * scale;
    }
    for (int j = 0; j < features; j++) {
      mean[j] = (float) random.nextGaussian() * 0.1f;
    }
    for (int d = 0; d < HIDDEN; d++) {
      bias[d] = (float) random.nextGaussian() * 0.01f;
    }
    if (meansAndSep) {
      float[] kept = LayerFeatures.meansAndSep(filled(features), HIDDEN);
      for (int j = 0; j < features; j++) {
        if (kept[j] == 0f) {
          Arrays.fill(weights, j * HIDDEN, (j + 1) * HIDDEN, 0f);
          mean[j] = 0f;
        }
      }
    }
    return new ExitAdapter("test", layer, features, HIDDEN, 0.01, 1, Double.NaN, mean, weights, bias);
  }

  private static float[] filled(int n) {
    float[] f = new float[n];
    Arrays.fill(f, 1f);
    return f;
  }
}
