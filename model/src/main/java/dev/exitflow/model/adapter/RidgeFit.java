package dev.exitflow.model.adapter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Closed-form ridge regression from features to targets, on standardised features (so one
 * penalty suits every layer's scale) with the penalty scaled by the number of samples (so it
 * suits any corpus size): {@code (Z'Z + lambda I) W = Z'Y}, solved by a blocked Cholesky
 * factorisation.
 *
 * <p>Nested feature sets, as the exits' are, share the work: the Gram matrix of the widest set
 * holds every narrower one as its leading block, and so does its Cholesky factor, so one
 * factorisation serves every exit and each exit adds only two triangular solves. The products
 * (the Gram matrix in float over row chunks, accumulated in double; the factorisation's trailing
 * updates and the solves in double) run on ONNX Runtime ({@link OrtGemm}); Java does only the
 * small diagonal blocks. This took calibration's fit from 114 s (EJML) to a few seconds.
 */
final class RidgeFit {
  /** Rows of the standardised features multiplied at once for the Gram matrix. */
  private static final int CHUNK = 2048;
  /** Block size of the Cholesky factorisation and the triangular solves. */
  private static final int BLOCK = 384;
  /** Features whose spread is below this are constant (e.g. the [CLS] embedding) and get weight 0. */
  private static final double CONSTANT = 1e-6;

  /** Input means, weights [features, outputs] row-major with the scaling folded in, and biases. */
  record Solution(float[] mean, float[] weights, float[] bias) {}

  private RidgeFit() {}

  /**
   * Fits {@code y ~ x[0..features)} over all rows for each of {@code featureCounts} (ascending):
   * nested feature sets sharing one Gram matrix and one factorisation. {@code penalty} is per sample.
   */
  static List<Solution> fit(float[][] x, List<Integer> featureCounts, float[][] y, double penalty) {
    int n = x.length;
    int features = featureCounts.get(featureCounts.size() - 1);
    if (n < features) {
      // Fewer samples than features (tiny corpora, tests): the dual system is the smaller one.
      List<Integer> primal = featureCounts.stream().filter(f -> f <= n).toList();
      List<Solution> solutions = new ArrayList<>(primal.isEmpty() ? List.of() : fit(x, primal, y, penalty));
      for (int f : featureCounts.subList(primal.size(), featureCounts.size())) {
        solutions.add(DualRidge.fit(x, f, y, penalty));
      }
      return solutions;
    }
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
    try (OrtGemm gemm = new OrtGemm()) {
      double[] a = new double[features * features]; // lower triangle: Z'Z + lambda I, then its factor L
      double[] cross = new double[features * out]; // Z'Y
      normalEquations(gemm, x, features, y, mean, scale, yMean, a, cross);
      double lambda = penalty * n;
      for (int j = 0; j < features; j++) {
        a[j * features + j] += lambda;
      }
      double[][] inverses = cholesky(gemm, a, features);
      for (int f : featureCounts) {
        double[] w = solve(gemm, a, features, inverses, cross, f, out);
        solutions.add(fold(w, f, out, mean, scale, yMean));
      }
    }
    return solutions;
  }

  /** Folds the scaling in: y = yMean + ((x - mean) * scale) W = bias + (x - mean) W'. */
  private static Solution fold(double[] w, int features, int out, double[] mean, double[] scale, double[] yMean) {
    float[] weights = new float[features * out];
    float[] m = new float[features];
    for (int j = 0; j < features; j++) {
      m[j] = (float) mean[j];
      for (int d = 0; d < out; d++) {
        weights[j * out + d] = (float) (w[j * out + d] * scale[j]);
      }
    }
    float[] b = new float[out];
    for (int d = 0; d < out; d++) {
      b[d] = (float) yMean[d];
    }
    return new Solution(m, weights, b);
  }

  /**
   * The lower triangle of Z'Z into {@code gram} and Z'Y into {@code cross}. Each chunk of rows is
   * laid out transposed (a feature per row), so the features of a column block and every feature
   * before it are contiguous and one product gives the block's part of the lower triangle.
   */
  private static void normalEquations(OrtGemm gemm, float[][] x, int features, float[][] y, double[] mean,
      double[] scale, double[] yMean, double[] gram, double[] cross) {
    int out = y[0].length;
    FloatBuffer zt = direct(features * Math.min(CHUNK, x.length));
    FloatBuffer yc = direct(Math.min(CHUNK, x.length) * out);
    for (int from = 0; from < x.length; from += CHUNK) {
      int rows = Math.min(x.length, from + CHUNK) - from;
      for (int j = 0; j < features; j++) {
        float m = (float) mean[j];
        float s = (float) scale[j];
        int at = j * rows;
        for (int i = 0; i < rows; i++) {
          zt.put(at + i, (x[from + i][j] - m) * s);
        }
      }
      for (int i = 0; i < rows; i++) {
        for (int d = 0; d < out; d++) {
          yc.put(i * out + d, (float) (y[from + i][d] - yMean[d]));
        }
      }
      for (int j0 = 0; j0 < features; j0 += BLOCK) {
        int j1 = Math.min(features, j0 + BLOCK);
        gemm.addNt(slice(zt, j0 * rows, (j1 - j0) * rows), j1 - j0, rows, slice(zt, 0, j1 * rows), j1, gram, features,
            j0 * features);
      }
      gemm.addNn(slice(zt, 0, features * rows), features, rows, slice(yc, 0, rows * out), out, cross);
    }
  }

  /**
   * Right-looking blocked Cholesky of the lower triangle of {@code a} (row-major, size x size) in
   * place: a = L L'. Returns the inverse of each diagonal block of L, which the solves reuse.
   */
  private static double[][] cholesky(OrtGemm gemm, double[] a, int size) {
    int blocks = (size + BLOCK - 1) / BLOCK;
    double[][] inverses = new double[blocks][];
    for (int k = 0; k < blocks; k++) {
      int k0 = k * BLOCK;
      int k1 = Math.min(size, k0 + BLOCK);
      int b = k1 - k0;
      double[] d = new double[b * b];
      for (int i = 0; i < b; i++) {
        System.arraycopy(a, (k0 + i) * size + k0, d, i * b, i + 1);
      }
      factorDiagonal(d, b);
      double[] inv = invertLower(d, b);
      inverses[k] = inv;
      for (int i = 0; i < b; i++) {
        System.arraycopy(d, i * b, a, (k0 + i) * size + k0, i + 1);
      }
      int m = size - k1;
      if (m == 0) {
        continue;
      }
      // Panel: L[k1.., k0..k1) = A[k1.., k0..k1) inv(Lkk)'.
      double[] panel = new double[m * b];
      for (int i = 0; i < m; i++) {
        System.arraycopy(a, (k1 + i) * size + k0, panel, i * b, b);
      }
      double[] l = gemm.nt(panel, m, b, inv, b);
      for (int i = 0; i < m; i++) {
        System.arraycopy(l, i * b, a, (k1 + i) * size + k0, b);
      }
      // Trailing update of the lower triangle, a row block at a time: A[r, k1..r1) -= L_r L_(k1..r1)'.
      for (int r0 = k1; r0 < size; r0 += BLOCK) {
        int r1 = Math.min(size, r0 + BLOCK);
        double[] rowsOfL = Arrays.copyOfRange(l, (r0 - k1) * b, (r1 - k1) * b);
        double[] upd = gemm.nt(rowsOfL, r1 - r0, b, l, r1 - k1);
        int width = r1 - k1;
        for (int i = 0; i < r1 - r0; i++) {
          int row = (r0 + i) * size + k1;
          int limit = r0 + i - k1 + 1; // up to the diagonal
          for (int j = 0; j < limit; j++) {
            a[row + j] -= upd[i * width + j];
          }
        }
      }
    }
    return inverses;
  }

  /** Unblocked Cholesky of a small dense lower triangle in place. */
  private static void factorDiagonal(double[] d, int b) {
    for (int j = 0; j < b; j++) {
      double s = d[j * b + j];
      for (int k = 0; k < j; k++) {
        s -= d[j * b + k] * d[j * b + k];
      }
      if (!(s > 0)) {
        throw new IllegalStateException("ridge system is not positive definite; raise the penalty");
      }
      double ljj = Math.sqrt(s);
      d[j * b + j] = ljj;
      for (int i = j + 1; i < b; i++) {
        double t = d[i * b + j];
        for (int k = 0; k < j; k++) {
          t -= d[i * b + k] * d[j * b + k];
        }
        d[i * b + j] = t / ljj;
      }
    }
    for (int i = 0; i < b; i++) {
      for (int j = i + 1; j < b; j++) {
        d[i * b + j] = 0;
      }
    }
  }

  private static double[] invertLower(double[] l, int b) {
    double[] inv = new double[b * b];
    for (int c = 0; c < b; c++) {
      for (int i = c; i < b; i++) {
        double s = i == c ? 1 : 0;
        for (int k = c; k < i; k++) {
          s -= l[i * b + k] * inv[k * b + c];
        }
        inv[i * b + c] = s / l[i * b + i];
      }
    }
    return inv;
  }

  /**
   * W for the leading {@code f} features: L_f L_f' W = C_f, with L_f the leading block of the
   * factor (the factor of the leading block of the system). Forward then backward, a block of rows
   * at a time; a diagonal block cut by {@code f} uses the leading part of its inverse, which is the
   * inverse of its leading part.
   */
  private static double[] solve(OrtGemm gemm, double[] a, int size, double[][] inverses, double[] cross, int f,
      int out) {
    int blocks = (f + BLOCK - 1) / BLOCK;
    double[] yv = new double[f * out];
    for (int k = 0; k < blocks; k++) {
      int k0 = k * BLOCK;
      int k1 = Math.min(f, k0 + BLOCK);
      int b = k1 - k0;
      double[] r = Arrays.copyOfRange(cross, k0 * out, k1 * out);
      if (k0 > 0) {
        double[] lrow = new double[b * k0];
        for (int i = 0; i < b; i++) {
          System.arraycopy(a, (k0 + i) * size, lrow, i * k0, k0);
        }
        double[] p = gemm.nn(lrow, b, k0, Arrays.copyOf(yv, k0 * out), out);
        for (int i = 0; i < r.length; i++) {
          r[i] -= p[i];
        }
      }
      double[] yk = gemm.nn(leading(inverses[k], b), b, b, r, out);
      System.arraycopy(yk, 0, yv, k0 * out, b * out);
    }
    double[] w = new double[f * out];
    for (int k = blocks - 1; k >= 0; k--) {
      int k0 = k * BLOCK;
      int k1 = Math.min(f, k0 + BLOCK);
      int b = k1 - k0;
      double[] r = Arrays.copyOfRange(yv, k0 * out, k1 * out);
      int m = f - k1;
      if (m > 0) {
        double[] lt = new double[b * m]; // L[k1..f, k0..k1)' as [b, m]
        for (int i = 0; i < m; i++) {
          for (int j = 0; j < b; j++) {
            lt[j * m + i] = a[(k1 + i) * size + k0 + j];
          }
        }
        double[] p = gemm.nn(lt, b, m, Arrays.copyOfRange(w, k1 * out, f * out), out);
        for (int i = 0; i < r.length; i++) {
          r[i] -= p[i];
        }
      }
      double[] inv = leading(inverses[k], b);
      double[] invT = new double[b * b];
      for (int i = 0; i < b; i++) {
        for (int j = 0; j < b; j++) {
          invT[j * b + i] = inv[i * b + j];
        }
      }
      System.arraycopy(gemm.nn(invT, b, b, r, out), 0, w, k0 * out, b * out);
    }
    return w;
  }

  /** The leading b x b part of a square block (itself when it is that size). */
  private static double[] leading(double[] block, int b) {
    int full = (int) Math.round(Math.sqrt(block.length));
    if (full == b) {
      return block;
    }
    double[] out = new double[b * b];
    for (int i = 0; i < b; i++) {
      System.arraycopy(block, i * full, out, i * b, b);
    }
    return out;
  }

  private static FloatBuffer direct(int floats) {
    return ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static FloatBuffer slice(FloatBuffer b, int from, int length) {
    return b.duplicate().position(from).limit(from + length).slice();
  }
}
