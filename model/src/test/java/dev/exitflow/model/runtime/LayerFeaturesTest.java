package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Collecting layer features (extra stage outputs) changes nothing the stages compute, and the
 * features survive re-batching between stages.
 */
class LayerFeaturesTest {

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q"})
  void collectingFeaturesLeavesEveryExitAsItWas(String name) throws Exception {
    ModelDescriptor model = TestModels.builtin(name);
    List<String> sentences =
        new ArrayList<>(StsDataset.read(TestModels.sts("sts-test.csv")).sentences().keySet()).subList(0, 96);
    try (StagedEncoder plain = StagedEncoder.open(model, TestModels.settings().withAdapters(false));
        StagedEncoder collecting = StagedEncoder.openForCalibration(model, TestModels.settings());
        ReferenceEncoder reference = new ReferenceEncoder(model, TestModels.settings(), plain.hiddenSize())) {
      List<TokenizedText> tokens = plain.tokenizer().tokenize(sentences);
      for (int from = 0; from < tokens.size(); from += 32) {
        List<TokenizedText> batch = tokens.subList(from, from + 32);
        PaddedBatch without = plain.runBatch(batch, 2);
        PaddedBatch with = collecting.runBatch(batch, 2);
        assertArrayEquals(without.values(), with.values()); // bit for bit
        assertNull(without.features());
        assertEquals(LayerFeatures.width(4, 384), with.features()[0].length); // stage 3 adds none
        List<float[]> unmodified = reference.embedBatch(sentences.subList(from, from + 32));
        List<HiddenState> rows = with.split();
        for (int k = 0; k < batch.size(); k++) {
          float[] deep = collecting.head(2).apply(rows.get(k), null);
          assertTrue(Vectors.cosine(deep, unmodified.get(k)) >= 0.9999);
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2"})
  void featuresTravelThroughSplitAndRebatching(String name) throws Exception {
    ModelDescriptor model = TestModels.builtin(name);
    List<String> sentences =
        new ArrayList<>(StsDataset.read(TestModels.sts("sts-test.csv")).sentences().keySet()).subList(0, 16);
    try (StagedEncoder encoder = StagedEncoder.openForCalibration(model, TestModels.settings())) {
      List<TokenizedText> tokens = encoder.tokenizer().tokenize(sentences);
      PaddedBatch first = encoder.stage(0).run(tokens, null);
      List<HiddenState> states = first.split();
      HiddenState s = states.get(3);
      // The exit's own layer is the last block: its content mean is the mean of the inner rows.
      int len = s.length();
      int at = LayerFeatures.width(1, 384);
      for (int d = 0; d < 384; d += 97) {
        double sum = 0;
        for (int t = 1; t < len - 1; t++) {
          sum += s.values()[t * 384 + d];
        }
        assertEquals(sum / (len - 2), s.features()[at + d], 1e-4);
        assertEquals(s.values()[d], s.features()[at + 384 + d]); // first token
      }
      // Continue half of the texts in a new batch, in another order: their features go on growing alike.
      List<TokenizedText> some = List.of(tokens.get(9), tokens.get(3));
      PaddedBatch rebatched = encoder.stage(1).run(some, PaddedBatch.of(some, List.of(states.get(9), states.get(3)), 384));
      PaddedBatch together = encoder.stage(1).run(tokens, first);
      float[] alone = rebatched.split().get(1).features();
      float[] inBatch = together.split().get(3).features();
      assertEquals(LayerFeatures.width(4, 384), alone.length);
      assertArrayEquals(s.features(), java.util.Arrays.copyOf(alone, s.features().length));
      for (int i = 0; i < alone.length; i++) {
        assertEquals(inBatch[i], alone[i], 1e-3);
      }
    }
  }
}
