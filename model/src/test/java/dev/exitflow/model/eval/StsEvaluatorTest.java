package dev.exitflow.model.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.TestModels;
import dev.exitflow.model.runtime.StagedEncoder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The published quality of all-MiniLM-L6-v2 on STS-B test (Spearman x100 = 82.03) is reproduced. */
class StsEvaluatorTest {

  @Test
  void deepExitReproducesThePublishedScoreForFp32AndInt8() throws Exception {
    StsDataset test = StsDataset.read(TestModels.sts("sts-test.csv"));
    assertEquals(1379, test.pairs().size());
    double fp32 = deepSpearman("all-minilm-l6-v2", test);
    double int8 = deepSpearman("all-minilm-l6-v2-q", test);
    assertEquals(82.03, fp32 * 100, 0.2);
    assertEquals(fp32 * 100, int8 * 100, 0.3);
  }

  private static double deepSpearman(String model, StsDataset data) throws Exception {
    try (StagedEncoder engine = StagedEncoder.open(TestModels.builtin(model), TestModels.settings())) {
      StsReport report = StsEvaluator.evaluate(engine, data, n -> {});
      List<StsReport.Exit> exits = report.exits();
      assertEquals(List.of(2, 4, 6), exits.stream().map(StsReport.Exit::layer).toList());
      // Shallow exits without adapters are markedly worse than the deep one: what issue 6 improves.
      assertTrue(exits.get(0).spearman() < exits.get(2).spearman() - 0.1);
      assertTrue(exits.get(0).sentencesPerS() > 0 && exits.get(0).meanTokens() > 2);
      return exits.get(2).spearman();
    }
  }
}
