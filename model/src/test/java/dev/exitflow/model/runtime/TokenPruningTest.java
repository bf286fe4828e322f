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

  @Test
  void mergingFoldsPrunedTokensIntoKeptOnesSoTheSizeWeightedMeanIsTheUnprunedOne() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    Plan drop = new Plan("half", model.name(), List.of(2, 4, 6), false, List.of(0.5, 0.5), List.of());
    Plan merge = new Plan("half-merged", model.name(), List.of(2, 4, 6), false, List.of(0.5, 0.5), List.of(), List.of(),
        true, null);
    try (StagedEncoder dropping = StagedEncoder.open(model, TestModels.settings(), drop);
        StagedEncoder merging = StagedEncoder.open(model, TestModels.settings(), merge)) {
      List<TokenizedText> tokens = merging.tokenizer().tokenize(TEXTS);
      PaddedBatch first = merging.stage(0).run(tokens);
      PaddedBatch dropped = TokenPruner.prune(first, 0.5);
      PaddedBatch merged = TokenPruner.prune(first, 0.5, true);
      List<HiddenState> before = first.split();
      List<HiddenState> after = merged.split();
      for (int b = 0; b < tokens.size(); b++) {
        TokenizedText kept = merged.tokens().get(b);
        assertArrayEquals(dropped.tokens().get(b).ids(), kept.ids(), "merging keeps the same tokens");
        double total = 0;
        for (int i = 0; i < kept.length(); i++) {
          total += kept.size(i);
        }
        assertEquals(tokens.get(b).length(), total, 1e-6, "every token counted once");
        assertEquals(1f, kept.size(0));
        assertEquals(1f, kept.size(kept.length() - 1));
        // Mean pooling weighted by size gives the mean of the states the boundary received.
        float[] unpruned = merging.head(0).pool(before.get(b));
        float[] pooled = merging.head(0).pool(after.get(b));
        for (int d = 0; d < unpruned.length; d++) {
          assertEquals(unpruned[d], pooled[d], 1e-5, "text " + b + ", component " + d);
        }
      }
      assertTrue(TEXTS.size() > 0 && merged.tokens().get(0).sizes() != null);
      assertEquals(null, dropped.tokens().get(0).sizes(), "dropping carries no sizes");

      // The sizes travel through the actor runtime's re-batching and both boundaries to the deep exit.
      PaddedBatch second = merging.stage(1).run(tokens, first);
      PaddedBatch rebatched = PaddedBatch.of(tokens, second.split(), merging.hiddenSize());
      PaddedBatch third = merging.stage(2).run(tokens, rebatched);
      for (int b = 0; b < tokens.size(); b++) {
        TokenizedText deep = third.tokens().get(b);
        assertEquals(TokenPruner.kept(TokenPruner.kept(tokens.get(b).length(), 0.5), 0.5), deep.length());
        double total = 0;
        for (int i = 0; i < deep.length(); i++) {
          total += deep.size(i);
        }
        assertEquals(tokens.get(b).length(), total, 1e-6);
      }
      // The engine's deep exit runs the merging path: its embeddings differ from the dropping plan's.
      List<Embedding> a = dropping.embed(TEXTS, "deep", null);
      List<Embedding> c = merging.embed(TEXTS, "deep", null);
      for (int i = 0; i < TEXTS.size(); i++) {
        if (tokens.get(i).length() > 4) { // "Hi." keeps one of its two words and came out alike to five digits
          assertTrue(Vectors.cosine(a.get(i).vector(), c.get(i).vector()) < 0.99999, "text " + i);
        }
      }
    }
  }

  @Test
  void byRedundancyPrunesTheTokenWithTheClosestTwinAndMergingFoldsItThere() {
    // [CLS], t1, t2 (t1's twin), t3, t4, [SEP] in two dimensions; keeping 3 of the 4 content tokens.
    float[] h = {1, 0, 0, 1, 0, 1, 1, 1, 1, -1, 0.5f, 0.5f};
    TokenizedText text = new TokenizedText(new long[] {101, 1, 2, 3, 4, 102}, new long[6], false);
    PaddedBatch batch = new PaddedBatch(List.of(text), h, 6, 2);
    // By [CLS]: t1 and t2 tie at similarity 0 and the later one goes.
    assertArrayEquals(new long[] {101, 1, 3, 4, 102}, TokenPruner.prune(batch, 0.75).tokens().get(0).ids());
    // By redundancy (A = t1, t3; B = t2, t4): t1 has an exact twin in B, so t1 goes.
    PaddedBatch redundant = TokenPruner.prune(batch, 0.75, false, true);
    assertArrayEquals(new long[] {101, 2, 3, 4, 102}, redundant.tokens().get(0).ids());
    assertEquals(null, redundant.tokens().get(0).sizes());
    PaddedBatch merged = TokenPruner.prune(batch, 0.75, true, true);
    assertArrayEquals(new float[] {1, 2, 1, 1, 1}, merged.tokens().get(0).sizes());
    assertArrayEquals(new float[] {1, 0, 0, 1, 1, 1, 1, -1, 0.5f, 0.5f}, merged.values());
  }
}
