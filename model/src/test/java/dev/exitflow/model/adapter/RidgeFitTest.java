package dev.exitflow.model.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;

/**
 * The blocked fit on ONNX Runtime against a plain dense solve in EJML, on sizes that cut the
 * blocks unevenly (widths not multiples of the block, nested sets ending mid-block), with
 * correlated features, a constant one, and targets that depend on the features.
 */
class RidgeFitTest {
  @Test
  void matchesADenseSolveForEveryNestedFeatureSet() {
    int n = 2100;
    int features = 1000;
    int out = 5;
    Random random = new Random(7);
    float[][] x = new float[n][features];
    float[][] y = new float[n][out];
    for (int i = 0; i < n; i++) {
      float common = (float) random.nextGaussian();
      for (int j = 0; j < features; j++) {
        x[i][j] = j == 3 ? 2.5f : (float) (random.nextGaussian() * (1 + j % 7) + 0.5 * common + j);
      }
      for (int d = 0; d < out; d++) {
        y[i][d] = (float) (0.3 * x[i][d * 11] - 0.2 * x[i][700 + d] + 0.1 * random.nextGaussian());
      }
    }
    List<Integer> widths = List.of(450, 1000);
    double penalty = 0.01;
    List<RidgeFit.Solution> fitted = RidgeFit.fit(x, widths, y, penalty);
    for (int e = 0; e < widths.size(); e++) {
      int f = widths.get(e);
      double[] expected = dense(x, f, y, penalty);
      float[] w = fitted.get(e).weights();
      double worst = 0;
      double largest = 0;
      for (int i = 0; i < expected.length; i++) {
        worst = Math.max(worst, Math.abs(expected[i] - w[i]));
        largest = Math.max(largest, Math.abs(expected[i]));
      }
      assertTrue(largest > 0.01, "the fit found the dependence");
      assertTrue(worst < 1e-4 * largest + 1e-6, "exit " + e + ": weights differ by " + worst + " of " + largest);
      for (int d = 0; d < out; d++) {
        assertEquals(0f, w[3 * out + d], "the constant feature gets weight 0");
      }
    }
  }

  /**
   * Streamed in any order, with features left out by index, the fit is the in-memory fit on rows
   * whose left-out features are zeros (as means-and-sep rows are): same weights (zero rows where
   * left out), same fidelity; only the held-out rows are kept.
   */
  @Test
  void aStreamedFitLeavingFeaturesOutMatchesTheFitOnZeroedRows() {
    int n = 2600;
    int features = 900;
    int out = 4;
    Random random = new Random(11);
    float[][] x = new float[n][features];
    float[][] zeroed = new float[n][];
    float[][] y = new float[n][out];
    int[] keep = java.util.stream.IntStream.range(0, features).filter(j -> j % 3 != 1).toArray();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < features; j++) {
        x[i][j] = (float) (random.nextGaussian() * (1 + j % 5) + 100 + j); // far from zero, as layer states are
      }
      for (int d = 0; d < out; d++) {
        y[i][d] = (float) (0.2 * x[i][d * 13] - 0.1 * x[i][600 + 3 * d] + 0.05 * random.nextGaussian());
      }
      zeroed[i] = x[i].clone();
      for (int j = 1; j < features; j += 3) {
        zeroed[i][j] = 0;
      }
    }
    List<Integer> layers = List.of(1, 2);
    List<Integer> widths = List.of(420, 900);
    List<ExitAdapter> expected = ExitAdapter.fit("m", layers, widths, zeroed, y, 0.01);
    List<ExitAdapter> streamed;
    try (ExitAdapter.Fitter fitter = new ExitAdapter.Fitter("m", layers, widths, keep, n, out, 0.01)) {
      for (int i = n - 1; i >= 0; i--) { // reversed: the order rows come in does not matter
        fitter.add(i, x[i], y[i]);
      }
      streamed = fitter.finish();
    }
    for (int e = 0; e < widths.size(); e++) {
      ExitAdapter a = expected.get(e);
      ExitAdapter b = streamed.get(e);
      assertEquals(a.features(), b.features());
      assertEquals(a.corpusSentences(), b.corpusSentences());
      assertEquals(n - n / ExitAdapter.HOLD_OUT, b.corpusSentences());
      double worst = 0;
      double largest = 0;
      for (int i = 0; i < a.weights().length; i++) {
        worst = Math.max(worst, Math.abs(a.weights()[i] - b.weights()[i]));
        largest = Math.max(largest, Math.abs(a.weights()[i]));
      }
      assertTrue(largest > 0.01, "the fit found the dependence");
      assertTrue(worst < 1e-4 * largest, "exit " + e + ": weights differ by " + worst + " of " + largest);
      for (int d = 0; d < out; d++) {
        assertEquals(0f, b.weights()[4 * out + d], "a left-out feature gets weight 0");
      }
      assertEquals(a.fidelity(), b.fidelity(), 1e-5);
      assertTrue(b.fidelity() > 0.9, "fidelity " + b.fidelity());
    }
  }

  /** Weights with the scaling folded in, from (Z'Z + penalty n I) W = Z'Y in EJML. */
  private static double[] dense(float[][] x, int f, float[][] y, double penalty) {
    int n = x.length;
    int out = y[0].length;
    double[] mean = new double[f];
    double[] scale = new double[f];
    double[] yMean = new double[out];
    for (float[] row : x) {
      for (int j = 0; j < f; j++) {
        mean[j] += row[j] / (double) n;
      }
    }
    for (float[] row : y) {
      for (int d = 0; d < out; d++) {
        yMean[d] += row[d] / (double) n;
      }
    }
    for (float[] row : x) {
      for (int j = 0; j < f; j++) {
        scale[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / n;
      }
    }
    for (int j = 0; j < f; j++) {
      double sd = Math.sqrt(scale[j]);
      scale[j] = sd > 1e-6 ? 1 / sd : 0;
    }
    DMatrixRMaj z = new DMatrixRMaj(n, f);
    DMatrixRMaj yc = new DMatrixRMaj(n, out);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < f; j++) {
        z.set(i, j, (x[i][j] - mean[j]) * scale[j]);
      }
      for (int d = 0; d < out; d++) {
        yc.set(i, d, y[i][d] - yMean[d]);
      }
    }
    DMatrixRMaj a = new DMatrixRMaj(f, f);
    CommonOps_DDRM.multTransA(z, z, a);
    for (int j = 0; j < f; j++) {
      a.add(j, j, penalty * n);
    }
    DMatrixRMaj b = new DMatrixRMaj(f, out);
    CommonOps_DDRM.multTransA(z, yc, b);
    DMatrixRMaj w = new DMatrixRMaj(f, out);
    assertTrue(CommonOps_DDRM.solve(a, b, w));
    double[] folded = new double[f * out];
    for (int j = 0; j < f; j++) {
      for (int d = 0; d < out; d++) {
        folded[j * out + d] = w.get(j, d) * scale[j];
      }
    }
    return folded;
  }
}
