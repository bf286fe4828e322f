package dev.exitflow.model.adapter;

import java.util.ArrayList;
import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.CommonOps_MT_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * Closed-form ridge regression from features to targets, on standardised features (so one
 * penalty suits every layer's scale) with the penalty scaled by the number of samples (so it
 * suits any corpus size). Solves the primal (features x features) system when there are more
 * samples than features and the dual (samples x samples) one otherwise; both by Cholesky.
 */
final class RidgeFit {
  private static final int CHUNK = 1024;
  /** Features whose spread is below this are constant (e.g. the [CLS] embedding) and get weight 0. */
  private static final double CONSTANT = 1e-6;

  /** Input means, weights [features, outputs] row-major with the scaling folded in, and biases. */
  record Solution(float[] mean, float[] weights, float[] bias) {}

  private RidgeFit() {}

  /**
   * Fits {@code y ~ x[0..features)} over all rows for each of {@code featureCounts} (ascending):
   * nested feature sets, as the exits' are, share one Gram matrix, each solve using its leading
   * block. {@code penalty} is per sample.
   */
  static List<Solution> fit(float[][] x, List<Integer> featureCounts, float[][] y, double penalty) {
    int n = x.length;
    int features = featureCounts.get(featureCounts.size() - 1);
    int out = y[0].length;
    double[] mean = new double[features];
    double[] scale = new double[features];
    double[] yMean = new double[out];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < features; j++) {
        mean[j] += x[i][j];
      }
      for (int d = 0; d < out; d++) {
        yMean[d] += y[i][d];
      }
    }
    for (int j = 0; j < features; j++) {
      mean[j] /= n;
    }
    for (int d = 0; d < out; d++) {
      yMean[d] /= n;
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < features; j++) {
        double c = x[i][j] - mean[j];
        scale[j] += c * c;
      }
    }
    for (int j = 0; j < features; j++) {
      double sd = Math.sqrt(scale[j] / n);
      scale[j] = sd > CONSTANT ? 1 / sd : 0;
    }

    List<Solution> solutions = new ArrayList<>();
    DMatrixRMaj[] normal = n >= featureCounts.get(0) ? normalEquations(x, features, y, mean, scale, yMean) : null;
    for (int f : featureCounts) {
      DMatrixRMaj w = n >= f
          ? primal(normal[0], normal[1], f, penalty * n)
          : dual(x, f, y, penalty * n, mean, scale, yMean);
      solutions.add(fold(w, f, out, mean, scale, yMean));
    }
    return solutions;
  }

  /** Folds the scaling in: y = yMean + ((x - mean) * scale) W = bias + (x - mean) W'. */
  private static Solution fold(DMatrixRMaj w, int features, int out, double[] mean, double[] scale, double[] yMean) {
    float[] weights = new float[features * out];
    float[] m = new float[features];
    for (int j = 0; j < features; j++) {
      m[j] = (float) mean[j];
      for (int d = 0; d < out; d++) {
        weights[j * out + d] = (float) (w.get(j, d) * scale[j]);
      }
    }
    float[] b = new float[out];
    for (int d = 0; d < out; d++) {
      b[d] = (float) yMean[d];
    }
    return new Solution(m, weights, b);
  }

  /** Z'Z and Z'Y, accumulated over row chunks so Z is never held whole. */
  private static DMatrixRMaj[] normalEquations(float[][] x, int features, float[][] y, double[] mean, double[] scale,
      double[] yMean) {
    int out = y[0].length;
    DMatrixRMaj gram = new DMatrixRMaj(features, features);
    DMatrixRMaj cross = new DMatrixRMaj(features, out);
    DMatrixRMaj gramPart = new DMatrixRMaj(features, features);
    DMatrixRMaj crossPart = new DMatrixRMaj(features, out);
    for (int from = 0; from < x.length; from += CHUNK) {
      int to = Math.min(x.length, from + CHUNK);
      DMatrixRMaj z = standardised(x, from, to, features, mean, scale);
      DMatrixRMaj yc = centred(y, from, to, yMean);
      CommonOps_MT_DDRM.multTransA(z, z, gramPart);
      CommonOps_DDRM.addEquals(gram, gramPart);
      CommonOps_MT_DDRM.multTransA(z, yc, crossPart);
      CommonOps_DDRM.addEquals(cross, crossPart);
    }
    return new DMatrixRMaj[] {gram, cross};
  }

  /** (Z'Z + lambda I) W = Z'Y over the leading {@code features} block of the normal equations. */
  private static DMatrixRMaj primal(DMatrixRMaj gram, DMatrixRMaj cross, int features, double lambda) {
    DMatrixRMaj a = CommonOps_DDRM.extract(gram, 0, features, 0, features);
    DMatrixRMaj b = CommonOps_DDRM.extract(cross, 0, features, 0, cross.numCols);
    for (int j = 0; j < features; j++) {
      a.add(j, j, lambda);
    }
    return solve(a, b, features, b.numCols);
  }

  /** W = Z' (ZZ' + lambda I)^-1 Y, cheaper when there are fewer samples than features. */
  private static DMatrixRMaj dual(float[][] x, int features, float[][] y, double lambda, double[] mean,
      double[] scale, double[] yMean) {
    int n = x.length;
    int out = y[0].length;
    DMatrixRMaj z = standardised(x, 0, n, features, mean, scale);
    DMatrixRMaj kernel = new DMatrixRMaj(n, n);
    CommonOps_MT_DDRM.multTransB(z, z, kernel);
    for (int i = 0; i < n; i++) {
      kernel.add(i, i, lambda);
    }
    DMatrixRMaj alpha = solve(kernel, centred(y, 0, n, yMean), n, out);
    DMatrixRMaj w = new DMatrixRMaj(features, out);
    CommonOps_MT_DDRM.multTransA(z, alpha, w);
    return w;
  }

  private static DMatrixRMaj solve(DMatrixRMaj a, DMatrixRMaj b, int size, int out) {
    LinearSolverDense<DMatrixRMaj> chol = LinearSolverFactory_DDRM.symmPosDef(size);
    if (!chol.setA(a)) {
      throw new IllegalStateException("ridge system is not positive definite; raise the penalty");
    }
    DMatrixRMaj w = new DMatrixRMaj(size, out);
    chol.solve(b, w);
    return w;
  }

  private static DMatrixRMaj standardised(float[][] x, int from, int to, int features, double[] mean, double[] scale) {
    DMatrixRMaj z = new DMatrixRMaj(to - from, features);
    double[] data = z.data;
    for (int i = from; i < to; i++) {
      int row = (i - from) * features;
      for (int j = 0; j < features; j++) {
        data[row + j] = (x[i][j] - mean[j]) * scale[j];
      }
    }
    return z;
  }

  private static DMatrixRMaj centred(float[][] y, int from, int to, double[] yMean) {
    int out = yMean.length;
    DMatrixRMaj c = new DMatrixRMaj(to - from, out);
    for (int i = from; i < to; i++) {
      for (int d = 0; d < out; d++) {
        c.data[(i - from) * out + d] = y[i][d] - yMean[d];
      }
    }
    return c;
  }
}
