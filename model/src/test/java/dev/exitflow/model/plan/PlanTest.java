package dev.exitflow.model.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.compile.Drop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanTest {
  @TempDir Path dir;

  @Test
  void roundTripsThroughItsFile() throws Exception {
    Plan plan = new Plan("int8-keep50", "all-minilm-l6-v2-q", List.of(2, 4, 6), false, List.of(0.5, 0.75),
        List.of(new Drop(5, Drop.Block.MLP), new Drop(3, Drop.Block.ATTENTION), new Drop(6, Drop.Block.LAYER)));
    Path file = dir.resolve("plan.json");
    plan.write(file);
    assertEquals(plan, Plan.read(file));
    String json = Files.readString(file);
    assertTrue(json.contains("\"keep_ratios\"") && json.contains("\"block\" : \"mlp\""), json);
    assertEquals(List.of("3a", "5m", "6"), plan.drops().stream().map(Drop::label).toList(), "drops in layer order");
  }

  @Test
  void aMinimalFileMeansTheModelAsItComes() throws Exception {
    Path file = dir.resolve("minimal.json");
    Files.writeString(file, "{\"name\": \"plain\", \"model\": \"all-minilm-l6-v2\"}");
    Plan plan = Plan.read(file);
    assertEquals(Plan.of("all-minilm-l6-v2").exits(), plan.exits());
    assertTrue(plan.useAdapters());
    assertEquals(1.0, plan.keepRatioInto(0));
    assertEquals(1.0, plan.keepRatioInto(2));
    assertEquals(List.of(), plan.drops());
  }

  @Test
  void rejectsKeepRatiosOutsideTheUnitIntervalOrOfTheWrongCount() {
    assertThrows(PlanFormatException.class,
        () -> new Plan("p", "m", List.of(2, 4, 6), true, List.of(0.0, 1.0), List.of()));
    assertThrows(PlanFormatException.class,
        () -> new Plan("p", "m", List.of(2, 4, 6), true, List.of(0.5), List.of()));
  }

  @Test
  void aBadFileSaysWhatIsWrong() throws Exception {
    Path file = Files.writeString(dir.resolve("bad.json"),
        "{\"name\": \"bad\", \"model\": \"m\", \"keep_ratios\": [1.5, 1]}");
    PlanFormatException e = assertThrows(PlanFormatException.class, () -> Plan.read(file));
    assertTrue(e.getMessage().endsWith("plan 'bad': keep ratios lie in (0, 1], got 1.5"), e.getMessage());
    Path typo = Files.writeString(dir.resolve("typo.json"), "{\"name\": \"t\", \"model\": \"m\", \"keep\": [1]}");
    assertTrue(assertThrows(PlanFormatException.class, () -> Plan.read(typo)).getMessage().contains("keep"));
  }

  @Test
  void mlpKeepIsOneShareForAllLayersOrOnePerLayer() throws Exception {
    Path all = Files.writeString(dir.resolve("all.json"),
        "{\"name\": \"m\", \"model\": \"all-minilm-l6-v2\", \"mlp_keep\": [0.625]}");
    Plan plan = Plan.read(all);
    assertEquals(0.625, plan.mlpKeepOf(1));
    assertEquals(0.625, plan.mlpKeepOf(6));
    assertTrue(plan.slicesMlp());
    Plan perLayer = new Plan("p", "m", null, false, List.of(), List.of(), List.of(0.5, 0.5, 0.5, 0.625, 0.75, 1.0));
    assertEquals(0.75, perLayer.mlpKeepOf(5));
    assertEquals(1.0, perLayer.mlpKeepOf(6));
    assertTrue(!new Plan("p", "m", null, false, List.of(), List.of(), List.of(1.0)).slicesMlp());
    // A plan without mlp_keep writes no mlp_keep, so its file reads as before.
    Path file = dir.resolve("plain.json");
    Plan.of("all-minilm-l6-v2").write(file);
    assertTrue(!Files.readString(file).contains("mlp_keep"), Files.readString(file));
    assertThrows(PlanFormatException.class, () -> new Plan("p", "m", null, false, List.of(), List.of(), List.of(0.0)));
  }

  @Test
  void mergePrunedIsOffUnlessTheFileSaysSoAndAbsentFromFilesWithoutIt() throws Exception {
    Path merged = Files.writeString(dir.resolve("merged.json"),
        "{\"name\": \"m\", \"model\": \"all-minilm-l6-v2\", \"keep_ratios\": [0.8], \"exits\": [3, 6], "
            + "\"merge_pruned\": true}");
    Plan plan = Plan.read(merged);
    assertTrue(plan.mergesPruned());
    Path file = dir.resolve("again.json");
    plan.write(file);
    assertEquals(plan, Plan.read(file));
    Path plain = dir.resolve("plain.json");
    new Plan("p", "all-minilm-l6-v2", List.of(3, 6), true, List.of(0.8), List.of()).write(plain);
    assertTrue(!Plan.read(plain).mergesPruned());
    assertTrue(!Files.readString(plain).contains("merge"), Files.readString(plain));
    assertTrue(!Files.readString(plain).contains("prune_by"), Files.readString(plain));
    assertTrue(!Plan.read(plain).prunesByRedundancy());
    Path redundancy = Files.writeString(dir.resolve("redundancy.json"),
        "{\"name\": \"r\", \"model\": \"all-minilm-l6-v2\", \"keep_ratios\": [0.8], \"exits\": [3, 6], "
            + "\"prune_by\": \"redundancy\"}");
    assertTrue(Plan.read(redundancy).prunesByRedundancy());
    Path typo = Files.writeString(dir.resolve("typo2.json"),
        "{\"name\": \"r\", \"model\": \"all-minilm-l6-v2\", \"prune_by\": \"similarity\"}");
    assertThrows(PlanFormatException.class, () -> Plan.read(typo));
  }
}
