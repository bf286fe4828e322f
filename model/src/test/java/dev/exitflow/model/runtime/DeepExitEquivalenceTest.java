package dev.exitflow.model.runtime;

import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.eval.StsDataset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The staged model's deep exit must reproduce the unmodified model on every STS-B test sentence. */
class DeepExitEquivalenceTest {

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q"})
  void deepExitMatchesUnmodifiedModel(String name) throws Exception {
    ModelDescriptor model = TestModels.builtin(name);
    List<String> sentences = new ArrayList<>(StsDataset.read(TestModels.sts("sts-test.csv")).sentences().keySet());
    try (StagedEncoder engine = StagedEncoder.open(model, TestModels.settings());
        ReferenceEncoder reference = new ReferenceEncoder(model, TestModels.settings(), engine.hiddenSize())) {
      assertEquals(3, engine.compiled().stages().size());
      double worst = 1.0;
      for (int from = 0; from < sentences.size(); from += 32) {
        List<String> batch = sentences.subList(from, Math.min(sentences.size(), from + 32));
        List<Embedding> staged = engine.embed(batch, "deep", null);
        List<float[]> plain = reference.embedBatch(batch);
        for (int i = 0; i < batch.size(); i++) {
          assertEquals(6, staged.get(i).exitLayer());
          worst = Math.min(worst, cosine(staged.get(i).vector(), plain.get(i)));
        }
      }
      assertTrue(worst >= 0.9999, "worst cosine " + worst + " over " + sentences.size() + " sentences");
    }
  }

}
