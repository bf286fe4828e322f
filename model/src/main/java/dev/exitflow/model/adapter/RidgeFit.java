package dev.exitflow.model.adapter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
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
 * lower triangle of the Gram matrix is stored, a block of rows at a time
 * ({@link BlockedCholesky.Lower}): half the
 * memory of the square. For a 12-layer model's exit 8 (10,368 features) that is 430 MB instead of
 * 860 MB, plus no longer 450 MB of held features.
 */
final class RidgeFit {
  /** Rows multiplied at once into the Gram matrix (their features are buffered transposed). */
  private static final int CHUNK = 1024;
  private static final int BLOCK = BlockedCholesky.BLOCK;
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
    private final BlockedCholesky.Lower gram;
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
      gram = new BlockedCholesky.Lower(features);
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
      double[][] inverses = BlockedCholesky.factor(gemm, gram, features);
      List<Solution> solutions = new ArrayList<>();
      for (int f : featureCounts) {
        double[] w = BlockedCholesky.solve(gemm, gram, inverses, cross, f, out);
        solutions.add(fold(w, f, out, mean, scale, yMean));
      }
      return solutions;
    }

    @Override
    public void close() {
      gemm.close();
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

  private static FloatBuffer direct(int floats) {
    return ByteBuffer.allocateDirect(floats * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static FloatBuffer slice(FloatBuffer b, int from, int length) {
    return b.duplicate().position(from).limit(from + length).slice();
  }
}
