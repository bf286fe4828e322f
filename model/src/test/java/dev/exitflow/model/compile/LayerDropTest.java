package dev.exitflow.model.compile;

import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.Embedding;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerDropTest {
  private static final List<String> TEXTS =
      List.of("A man is playing a guitar on stage.", "Two kids are jumping into a pool.", "Hi.");

  @TempDir Path tmp;

  @Test
  void droppingNothingGivesExactlyTheUnmodifiedStages() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2-q");
    CompiledModel plain = StageCompiler.compile(model, tmp.resolve("plain"));
    CompiledModel none = StageCompiler.compile(model, List.of(), tmp.resolve("none"));
    for (int i = 0; i < plain.stages().size(); i++) {
      assertArrayEquals(Files.readAllBytes(plain.stageFile(plain.stages().get(i))),
          Files.readAllBytes(none.stageFile(none.stages().get(i))), "stage " + (i + 1));
    }
    // The cache key of a plan without drops is the one compiled stages (and their adapters) had before.
    assertEquals(StageCache.key(model, List.of()).substring(17),
        StageCache.hex(StageCache.digest(("v" + StageCache.COMPILER_VERSION + ";exits=2,4,6").getBytes()))
            .substring(0, 12));
    assertNotEquals(StageCache.key(model, List.of()), StageCache.key(model, List.of(new Drop(5, Drop.Block.MLP))));
  }

  @Test
  void aDroppedLayerHandsItsInputOnUnchanged() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2");
    // Exit 4 without layer 4 is exit 3: the same nodes, so the same floats.
    Plan dropFour = new Plan("drop-4", model.name(), List.of(2, 4, 6), false, List.of(),
        List.of(new Drop(4, Drop.Block.LAYER)));
    Plan cutAtThree = new Plan("cut-3", model.name(), List.of(2, 3, 6), false, List.of(), List.of());
    try (StagedEncoder dropped = StagedEncoder.open(model, TestModels.settings(), dropFour);
        StagedEncoder three = StagedEncoder.open(model, TestModels.settings(), cutAtThree)) {
      List<Embedding> a = dropped.embed(TEXTS, "4", null);
      List<Embedding> b = three.embed(TEXTS, "3", null);
      for (int i = 0; i < TEXTS.size(); i++) {
        assertArrayEquals(b.get(i).vector(), a.get(i).vector(), 1e-6f, TEXTS.get(i));
      }
    }
  }

  @Test
  void droppingASublayerChangesTheOutputALittle() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2-q");
    Plan attention = new Plan("drop-5a", model.name(), null, false, List.of(), List.of(new Drop(5, Drop.Block.ATTENTION)));
    Plan mlp = new Plan("drop-6m", model.name(), null, false, List.of(), List.of(new Drop(6, Drop.Block.MLP)));
    try (StagedEncoder plain = StagedEncoder.open(model, TestModels.settings(), Plan.of(model.name()));
        StagedEncoder noAttention = StagedEncoder.open(model, TestModels.settings(), attention);
        StagedEncoder noMlp = StagedEncoder.open(model, TestModels.settings(), mlp)) {
      List<Embedding> p = plain.embed(TEXTS, "deep", null);
      for (StagedEncoder e : List.of(noAttention, noMlp)) {
        List<Embedding> d = e.embed(TEXTS, "deep", null);
        for (int i = 0; i < TEXTS.size(); i++) {
          double cos = cosine(p.get(i).vector(), d.get(i).vector());
          assertTrue(cos < 0.9999 && cos > 0.5, e.plan().name() + ": cosine " + cos + " to the full model");
        }
      }
    }
  }

  @Test
  void aStageCannotDropEverything() {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2").withExitLayers(List.of(2, 3, 6));
    ModelFormatException e = assertThrows(ModelFormatException.class,
        () -> StageCompiler.compile(model, List.of(new Drop(3, Drop.Block.LAYER)), tmp.resolve("empty")));
    assertTrue(e.getMessage().contains("stage 2"), e.getMessage());
  }

}
