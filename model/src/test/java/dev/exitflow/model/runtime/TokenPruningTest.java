package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenPruningTest {
  private static final List<String> TEXTS = List.of(
      "A man is slicing a large tomato in the kitchen with a very sharp knife.",
      "Hi.",
      "Three dogs are running through the snow in a park.");

  @Test
  void keepRatioOneGivesExactlyTheUnprunedResultAtEveryExit() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    Plan keepAll = new Plan("keep-all", model.name(), List.of(2, 4, 6), true, List.of(1.0, 1.0), List.of());
    try (StagedEncoder plain = StagedEncoder.open(model, TestModels.settings());
        StagedEncoder planned = StagedEncoder.open(model, TestModels.settings(), keepAll)) {
      for (String exit : List.of("2", "4", "6")) {
        List<Embedding> a = plain.embed(TEXTS, exit, null);
        List<Embedding> b = planned.embed(TEXTS, exit, null);
        for (int i = 0; i < TEXTS.size(); i++) {
          assertArrayEquals(a.get(i).vector(), b.get(i).vector(), "exit " + exit + ", text " + i);
        }
      }
    }
  }

  @Test
  void pruningPassesOnFewerTokensKeepingClsAndSep() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    Plan half = new Plan("half", model.name(), List.of(2, 4, 6), false, List.of(0.5, 1.0), List.of());
    try (StagedEncoder engine = StagedEncoder.open(model, TestModels.settings(), half)) {
      List<TokenizedText> tokens = engine.tokenizer().tokenize(TEXTS);
      PaddedBatch first = engine.stage(0).run(tokens);
      assertSame(first, TokenPruner.prune(first, 1.0));
      PaddedBatch second = engine.stage(1).run(tokens, first);
      assertTrue(second.longest() < first.longest(), second.longest() + " rows, not fewer than " + first.longest());
      for (int b = 0; b < tokens.size(); b++) {
        TokenizedText own = tokens.get(b);
        TokenizedText kept = second.tokens().get(b);
        assertEquals(TokenPruner.kept(own.length(), 0.5), kept.length());
        assertEquals(own.ids()[0], kept.ids()[0], "[CLS] kept");
        assertEquals(own.ids()[own.length() - 1], kept.ids()[kept.length() - 1], "[SEP] kept");
      }
      assertEquals(3, second.tokens().get(1).length(), "'Hi.' keeps [CLS], one of its two words and [SEP]");

      // Re-batched as the actor runtime does (split, then of() with the texts' own tokens), the
      // pruned states bring their kept tokens along, and the next stage gives the same result.
      PaddedBatch rebatched = PaddedBatch.of(tokens, second.split(), engine.hiddenSize());
      assertEquals(second.tokens(), rebatched.tokens());
      PaddedBatch direct = engine.stage(2).run(tokens, second);
      PaddedBatch viaActors = engine.stage(2).run(tokens, rebatched);
      List<HiddenState> d = direct.split();
      List<HiddenState> v = viaActors.split();
      for (int b = 0; b < tokens.size(); b++) {
        assertEquals(d.get(b).length(), v.get(b).length());
        assertTrue(Vectors.cosine(engine.head(2).apply(d.get(b), null),
            engine.head(2).apply(v.get(b), null)) > 0.99999);
      }
    }
  }
}
