package dev.exitflow.model.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.TestModels;
import dev.exitflow.model.compile.Drop;
import dev.exitflow.model.eval.StsDataset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BlockSimilarityTest {
  @Test
  void measuresEveryBlockOfEveryLayer() throws Exception {
    List<String> corpus =
        new ArrayList<>(StsDataset.read(TestModels.sts("sts-dev.csv")).sentences().keySet()).subList(0, 64);
    AtomicInteger seen = new AtomicInteger();
    List<BlockSimilarity.Row> rows = BlockSimilarity.measure(TestModels.builtin("all-minilm-l6-v2-q"),
        TestModels.settings(), corpus, seen::addAndGet);
    assertEquals(64, seen.get());
    assertEquals(6 * 3, rows.size());
    for (BlockSimilarity.Row r : rows) {
      assertTrue(r.cosine() > 0 && r.cosine() <= 1.0 + 1e-9, r.toString());
    }
    // The last layer's MLP block changes its input most, as on all of sts-train (0.70; the next is 0.88).
    BlockSimilarity.Row least = rows.stream().filter(r -> r.block() != Drop.Block.LAYER)
        .min(Comparator.comparingDouble(BlockSimilarity.Row::cosine)).orElseThrow();
    assertEquals(6, least.layer());
    assertEquals(Drop.Block.MLP, least.block());
  }
}
