package dev.exitflow.research;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class AgreementTest {
  /** Two clusters: 0 and 1 along x, 2 and 3 along y. */
  private static final List<float[]> POINTS = List.of(
      new float[] {1, 0}, new float[] {1, 0.1f}, new float[] {0, 1}, new float[] {0.1f, 1});

  @Test
  void identicalEmbeddingsAgreeFully() {
    Agreement a = Agreement.of(POINTS, POINTS, 2);
    assertEquals(1.0, a.meanCosine(), 1e-12);
    assertEquals(1.0, a.p5Cosine(), 1e-12);
    assertEquals(1.0, a.neighbourOverlap(), 1e-12);
  }

  @Test
  void nearestLeavesTheTextItselfOutAndOrdersBySimilarity() {
    assertArrayEquals(new int[] {1, 3}, Agreement.nearest(POINTS, 0, 2));
    assertArrayEquals(new int[] {3, 1}, Agreement.nearest(POINTS, 2, 2));
  }

  @Test
  void aTextMovedToTheOtherClusterLowersFidelityTheLowPercentileAndTheOverlap() {
    List<float[]> changed = List.of(POINTS.get(0), POINTS.get(1), POINTS.get(2), new float[] {1, 0.2f});
    Agreement a = Agreement.of(POINTS, changed, 1);
    double moved = 0.3 / Math.sqrt(1.01 * 1.04);
    assertEquals((3 + moved) / 4, a.meanCosine(), 1e-6);
    assertEquals(moved, a.p5Cosine(), 1e-6);
    // nearest before 1, 0, 3, 2; after 1, 3, 3, 1: texts 0 and 2 agree
    assertEquals(0.5, a.neighbourOverlap(), 1e-9);
  }
}
