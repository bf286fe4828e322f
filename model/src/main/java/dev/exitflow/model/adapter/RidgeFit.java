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
 *
 * <p>Rows stream in ({@link Accumulator}): a chunk of rows at a time is centred on its own means
 * and multiplied into the Gram matrix, and the chunks are merged exactly (Chan et al.'s pairwise
 * update: a rank-one correction for the distance between the chunk's means and the running ones),
 * so the corpus' features are never held, and centring never waits for the whole corpus. Only the
 * lower triangle of the Gram matrix is stored, a block of rows at a time ({@link Lower}): half the
 * memory of the square. For a 12-layer model's exit 8 (10,368 features) that is 430 MB instead of
 * 860 MB, plus no longer 450 MB of held features.
 */
final class RidgeFit {
  /** Rows multiplied at once into the Gram matrix (their features are buffered transposed). */
  private static final int CHUNK = 1024;
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
    try (Accumulator acc = new Accumulator(features, y[0].length)) {
      for (int i = 0; i < n; i++) {
        acc.add(x[i], null, y[i]);
      }
      return acc.solve(featureCounts, penalty);
    }
  }

  /**
   * The normal equations of a ridge fit, built a row at a time: {@link #add} each sample, then
   * {@link #solve} once. Holds the lower triangle of the centred Gram matrix (doubles), the centred
   * cross products with the targets, the running means, and one chunk of rows in float.
   */
  static final class Accumulator implements AutoCloseable {
    private final int features;
    private final int out;
    private final OrtGemm gemm = new OrtGemm();
    private final Lower gram;
    private final double[] cross;
    private final double[] mean;
    private final double[] yMean;
    private final FloatBuffer zt;
    private final FloatBuffer yc;
    private long n;
    private int rows;

    Accumulator(int features, int out) {
      this.features = features;
      this.out = out;
      gram = new Lower(features);
      cross = new double[features * out];
      mean = new double[features];
      yMean = new double[out];
      zt = direct(features * CHUNK);
      yc = direct(CHUNK * out);
    }

    long rows() {
      return n + rows;
    }

    /**
     * One sample: the features {@code x[keep[j]]} (or {@code x[j]} when {@code keep} is null) for
     * j below the accumulator's feature count, and its target.
     */
    void add(float[] x, int[] keep, float[] y) {
      for (int j = 0; j < features; j++) {
        zt.put(j * CHUNK + rows, x[keep == null ? j : keep[j]]);
      }
      for (int d = 0; d < out; d++) {
        yc.put(rows * out + d, y[d]);
      }
      if (++rows == CHUNK) {
        flush();
      }
    }

    /** Multiplies the buffered rows into the Gram matrix and merges their means into the running ones. */
    private void flush() {
      int r = rows;
      if (r == 0) {
        return;
      }
      if (r < CHUNK) { // lay the rows out contiguously, a feature per row of r floats
        for (int j = 1; j < features; j++) {
          for (int i = 0; i < r; i++) {
            zt.put(j * r + i, zt.get(j * CHUNK + i));
          }
        }
      }
      double[] chunkMean = new double[features];
      for (int j = 0; j < features; j++) {
        double s = 0;
        for (int i = 0; i < r; i++) {
          s += zt.get(j * r + i);
        }
        chunkMean[j] = s / r;
        float m = (float) chunkMean[j];
        for (int i = 0; i < r; i++) {
          zt.put(j * r + i, zt.get(j * r + i) - m);
        }
        chunkMean[j] = m; // what was subtracted, so the merge below is exact for it
      }
      double[] chunkYMean = new double[out];
      for (int d = 0; d < out; d++) {
        double s = 0;
        for (int i = 0; i < r; i++) {
          s += yc.get(i * out + d);
        }
        float m = (float) (s / r);
        for (int i = 0; i < r; i++) {
          yc.put(i * out + d, yc.get(i * out + d) - m);
        }
        chunkYMean[d] = m;
      }
      for (int k = 0; k < gram.blocks.length; k++) {
        int j0 = k * BLOCK;
        int j1 = Math.min(features, j0 + BLOCK);
        gemm.addNt(slice(zt, j0 * r, (j1 - j0) * r), j1 - j0, r, slice(zt, 0, j1 * r), j1, gram.blocks[k], j1, 0);
      }
      gemm.addNn(slice(zt, 0, features * r), features, r, slice(yc, 0, r * out), out, cross);
      // Chan's merge: M = M_old + M_chunk + (n_old r / n_new) delta delta', delta = chunk mean - old mean.
      double w = (double) n * r / (n + r);
      double[] delta = new double[features];
      for (int j = 0; j < features; j++) {
        delta[j] = chunkMean[j] - mean[j];
        mean[j] += delta[j] * r / (n + r);
      }
      double[] yDelta = new double[out];
      for (int d = 0; d < out; d++) {
        yDelta[d] = chunkYMean[d] - yMean[d];
        yMean[d] += yDelta[d] * r / (n + r);
      }
      if (w > 0) {
        for (int i = 0; i < features; i++) {
          double[] block = gram.blocks[i / BLOCK];
          int at = gram.at(i);
          double wi = w * delta[i];
          for (int j = 0; j <= i; j++) {
            block[at + j] += wi * delta[j];
          }
          for (int d = 0; d < out; d++) {
            cross[i * out + d] += wi * yDelta[d];
          }
        }
      }
      n += r;
      rows = 0;
    }

    /**
     * Solves for each of {@code featureCounts} (ascending, the last at most this accumulator's
     * feature count) with {@code penalty} per sample. Consumes the accumulator.
     */
    List<Solution> solve(List<Integer> featureCounts, double penalty) {
      flush();
      double[] scale = new double[features];
      for (int j = 0; j < features; j++) {
        double sd = Math.sqrt(Math.max(0, gram.blocks[j / BLOCK][gram.at(j) + j]) / n);
        scale[j] = sd > CONSTANT ? 1 / sd : 0;
      }
      double lambda = penalty * n;
      for (int i = 0; i < features; i++) {
        double[] block = gram.blocks[i / BLOCK];
        int at = gram.at(i);
        for (int j = 0; j <= i; j++) {
          block[at + j] *= scale[i] * scale[j];
        }
        block[at + i] += lambda;
        for (int d = 0; d < out; d++) {
          cross[i * out + d] *= scale[i];
        }
      }
      double[][] inverses = cholesky(gemm, gram, features);
      List<Solution> solutions = new ArrayList<>();
      for (int f : featureCounts) {
        double[] w = RidgeFit.solve(gemm, gram, inverses, cross, f, out);
        solutions.add(fold(w, f, out, mean, scale, yMean));
      }
      return solutions;
    }

    @Override
    public void close() {
      gemm.close();
    }
  }

  /**
   * The lower triangle of a symmetric size x size matrix, by blocks of {@value #BLOCK} rows:
   * block k holds rows [k B, (k+1) B) with columns [0, (k+1) B), row-major.
   */
  static final class Lower {
    final int size;
    final double[][] blocks;

    Lower(int size) {
      this.size = size;
      blocks = new double[(size + BLOCK - 1) / BLOCK][];
      for (int k = 0; k < blocks.length; k++) {
        blocks[k] = new double[(Math.min(size, (k + 1) * BLOCK) - k * BLOCK) * width(k)];
      }
    }

    /** Columns stored per row of block k. */
    int width(int k) {
      return Math.min(size, (k + 1) * BLOCK);
    }

    /** Where row i starts in its block. */
    int at(int i) {
      return (i % BLOCK) * width(i / BLOCK);
    }

    double get(int i, int j) {
      return blocks[i / BLOCK][at(i) + j];
    }
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
   * Right-looking blocked Cholesky of the lower triangle {@code a} in place: a = L L'. Returns the
   * inverse of each diagonal block of L, which the solves reuse.
   */
  private static double[][] cholesky(OrtGemm gemm, Lower a, int size) {
    int blocks = (size + BLOCK - 1) / BLOCK;
    double[][] inverses = new double[blocks][];
    for (int k = 0; k < blocks; k++) {
      int k0 = k * BLOCK;
      int k1 = Math.min(size, k0 + BLOCK);
      int b = k1 - k0;
      double[] bk = a.blocks[k];
      int wk = a.width(k);
      double[] d = new double[b * b];
      for (int i = 0; i < b; i++) {
        System.arraycopy(bk, i * wk + k0, d, i * b, i + 1);
      }
      factorDiagonal(d, b);
      double[] inv = invertLower(d, b);
      inverses[k] = inv;
      for (int i = 0; i < b; i++) {
        System.arraycopy(d, i * b, bk, i * wk + k0, i + 1);
      }
      int m = size - k1;
      if (m == 0) {
        continue;
      }
      // Panel: L[k1.., k0..k1) = A[k1.., k0..k1) inv(Lkk)'.
      double[] panel = new double[m * b];
      for (int i = 0; i < m; i++) {
        System.arraycopy(a.blocks[(k1 + i) / BLOCK], a.at(k1 + i) + k0, panel, i * b, b);
      }
      double[] l = gemm.nt(panel, m, b, inv, b);
      panel = null;
      for (int i = 0; i < m; i++) {
        System.arraycopy(l, i * b, a.blocks[(k1 + i) / BLOCK], a.at(k1 + i) + k0, b);
      }
      // Trailing update of the lower triangle, a row block at a time: A[r, k1..r1) -= L_r L_(k1..r1)'.
      for (int r0 = k1; r0 < size; r0 += BLOCK) {
        int r1 = Math.min(size, r0 + BLOCK);
        double[] rowsOfL = Arrays.copyOfRange(l, (r0 - k1) * b, (r1 - k1) * b);
        double[] upd = gemm.nt(rowsOfL, r1 - r0, b, l, r1 - k1);
        int width = r1 - k1;
        double[] block = a.blocks[r0 / BLOCK];
        for (int i = 0; i < r1 - r0; i++) {
          int row = a.at(r0 + i) + k1;
          int limit = r0 + i - k1 + 1; // up to the diagonal
          for (int j = 0; j < limit; j++) {
            block[row + j] -= upd[i * width + j];
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
  private static double[] solve(OrtGemm gemm, Lower a, double[][] inverses, double[] cross, int f, int out) {
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
          System.arraycopy(a.blocks[(k0 + i) / BLOCK], a.at(k0 + i), lrow, i * k0, k0);
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
            lt[j * m + i] = a.get(k1 + i, k0 + j);
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
