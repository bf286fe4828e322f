package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A stage session on one thread of its own (as the actor runtime's workers run) computes what one on the shared pool does. */
class StageSessionThreadsTest {
  @Test
  void aSessionOnItsOwnThreadGivesTheSharedPoolsHiddenStates() throws Exception {
    ModelSettings shared = TestModels.settings();
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    StageOpener opener = StageOpener.load(model, shared, Plan.of(model.name()));
    try (TextTokenizer tokenizer = new TextTokenizer(model);
        StageSession pooled = opener.openStage(0, shared);
        StageSession own = opener.openStage(0, shared.withStageSessionThreads(1))) {
      List<TokenizedText> texts = tokenizer.tokenize(List.of("A man is playing a guitar.", "Cats sleep."));
      List<HiddenState> expected = pooled.run(texts).split();
      List<HiddenState> actual = own.run(texts).split();
      for (int i = 0; i < texts.size(); i++) {
        float[] e = expected.get(i).values();
        float[] a = actual.get(i).values();
        assertEquals(e.length, a.length);
        for (int j = 0; j < e.length; j++) {
          assertEquals(e[j], a[j], 1e-4f, "text " + i + ", value " + j);
        }
      }
    }
  }
}
