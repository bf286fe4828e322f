package dev.exitflow.model.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class StsFilesTest {
  @Test
  void theShippedSplitsAreFoundOnTheClasspathWithTheirPairCounts() throws Exception {
    assertEquals(5749, StsDataset.read(StsFiles.locate("sts-train.csv")).pairs().size());
    assertEquals(1500, StsDataset.read(StsFiles.locate("sts-dev.csv")).pairs().size());
    assertEquals(1379, StsDataset.read(StsFiles.locate("sts-test.csv")).pairs().size());
  }

  @Test
  void aBareNameNeverResolvesOutsideTheProject() {
    Path p = StsFiles.locate("sts-test.csv");
    assertFalse(p.toUri().toString().contains("/shared/"), p.toUri().toString());
  }

  @Test
  void anUnknownNameIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> StsFiles.locate("sts-nope.csv"));
  }
}
