package dev.exitflow.model.runtime;

import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.adapter.ExitAdapter;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The adapter graph, which leaves zero-weight features out of its product, matches the record's own
 * product.
 */
class AdapterSessionTest {
  private static final int HIDDEN = 8;
  private static final int LAYERS = 3;
  private static final int FEATURES = LayerFeatures.width(LAYERS - 1, HIDDEN);

  @Test
  void matchesTheFloatProductAndReadsOnlyWeightedFeatures() throws Exception {
    Random random = new Random(7);
    float[] mean = new float[FEATURES];
    float[] weights = new float[FEATURES * HIDDEN];
    float[] bias = new float[HIDDEN];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (float) random.nextGaussian() * 0.1f;
    }
    for (int i = 0; i < FEATURES; i++) {
      mean[i] = (float) random.nextGaussian();
    }
    // Calibrated without [CLS] states and the embeddings' [SEP]: their weights are 0.
    int zero = 0;
    for (int j = 0; j < FEATURES; j++) {
      float[] probe = new float[FEATURES];
      probe[j] = 1;
      if (LayerFeatures.meansAndSep(probe, HIDDEN)[j] == 0) {
        Arrays.fill(weights, j * HIDDEN, (j + 1) * HIDDEN, 0f);
        zero++;
      }
    }
    assertEquals((LAYERS + 1) * HIDDEN, zero);
    ExitAdapter adapter = new ExitAdapter("test", 2, FEATURES, HIDDEN, 0.01, 1, 1, mean, weights, bias);
    float[][] xs = new float[32][FEATURES];
    for (float[] x : xs) {
      for (int j = 0; j < FEATURES; j++) {
        x[j] = mean[j] + (float) random.nextGaussian();
      }
    }
    OrtEnvironment env = OrtSessions.environment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        AdapterSession session = new AdapterSession(env, adapter, options)) {
      assertEquals(FEATURES - zero, session.usedFeatures());
      float[][] got = session.apply(xs);
      float[][] want = adapter.applyAll(xs);
      for (int b = 0; b < xs.length; b++) {
        assertTrue(cosine(got[b], want[b]) > 0.99999, "text " + b + ": cosine " + cosine(got[b], want[b]));
      }
    }
  }

  @Test
  void meansAndSepKeepsTheMeansAndTheSepStatesAfterTheEmbeddings() {
    float[] features = new float[FEATURES];
    Arrays.fill(features, 1f);
    float[] kept = LayerFeatures.meansAndSep(features, HIDDEN);
    float[] want = new float[FEATURES];
    for (int layer = 0; layer < LAYERS; layer++) {
      int at = layer * LayerFeatures.PER_LAYER * HIDDEN;
      Arrays.fill(want, at, at + HIDDEN, 1f); // content mean
      if (layer > 0) {
        Arrays.fill(want, at + 2 * HIDDEN, at + 3 * HIDDEN, 1f); // [SEP]
      }
    }
    assertArrayEquals(want, kept);
    assertEquals(1f, features[HIDDEN]); // a copy
  }

}
