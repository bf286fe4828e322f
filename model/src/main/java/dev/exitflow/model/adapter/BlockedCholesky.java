package dev.exitflow.model.adapter;

import java.util.Arrays;

/**
 * A symmetric positive definite system stored as its lower triangle by blocks of rows, its blocked
 * Cholesky factorisation in place and the triangular solves against it: the linear algebra of
 * {@link RidgeFit}. The large products run on ONNX Runtime ({@link OrtGemm}); Java does only the
 * small diagonal blocks. A leading part of the system is itself such a system, so one
 * factorisation serves every nested feature set.
 */
final class BlockedCholesky {
  /** Block size of the storage, the factorisation and the triangular solves. */
  static final int BLOCK = 384;

  private BlockedCholesky() {}

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

  /**
   * Right-looking blocked Cholesky of the lower triangle {@code a} in place: a = L L'. Returns the
   * inverse of each diagonal block of L, which the solves reuse.
   */
  static double[][] factor(OrtGemm gemm, Lower a, int size) {
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
  static double[] solve(OrtGemm gemm, Lower a, double[][] inverses, double[] cross, int f, int out) {
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
}
