package dev.exitflow.model.adapter;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * Ridge in its dual form, W = Z' (ZZ' + lambda I)^-1 Y, for fewer samples than features, where
 * the primal system is singular up to its tiny penalty. Only small corpora take this path, so
 * plain EJML suffices. Same standardisation and folding as {@link RidgeFit}.
 */
final class DualRidge {
  private static final double CONSTANT = 1e-6;

  private DualRidge() {}

  static RidgeFit.Solution fit(float[][] x, int features, float[][] y, double penalty) {
    int n = x.length;
    int out = y[0].length;
    double[] mean = new double[features];
    double[] scale = new double[features];
    double[] yMean = new double[out];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < features; j++) {
        mean[j] += x[i][j] / (double) n;
      }
      for (int d = 0; d < out; d++) {
        yMean[d] += y[i][d] / (double) n;
      }
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < features; j++) {
        scale[j] += (x[i][j] - mean[j]) * (x[i][j] - mean[j]) / n;
      }
    }
    for (int j = 0; j < features; j++) {
      double sd = Math.sqrt(scale[j]);
      scale[j] = sd > CONSTANT ? 1 / sd : 0;
    }
    DMatrixRMaj z = new DMatrixRMaj(n, features);
    DMatrixRMaj yc = new DMatrixRMaj(n, out);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < features; j++) {
        z.set(i, j, (x[i][j] - mean[j]) * scale[j]);
      }
      for (int d = 0; d < out; d++) {
        yc.set(i, d, y[i][d] - yMean[d]);
      }
    }
    DMatrixRMaj kernel = new DMatrixRMaj(n, n);
    CommonOps_DDRM.multTransB(z, z, kernel);
    for (int i = 0; i < n; i++) {
      kernel.add(i, i, penalty * n);
    }
    LinearSolverDense<DMatrixRMaj> chol = LinearSolverFactory_DDRM.symmPosDef(n);
    if (!chol.setA(kernel)) {
      throw new IllegalStateException("ridge system is not positive definite; raise the penalty");
    }
    DMatrixRMaj alpha = new DMatrixRMaj(n, out);
    chol.solve(yc, alpha);
    DMatrixRMaj w = new DMatrixRMaj(features, out);
    CommonOps_DDRM.multTransA(z, alpha, w);
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
    return new RidgeFit.Solution(m, weights, b);
  }
}
