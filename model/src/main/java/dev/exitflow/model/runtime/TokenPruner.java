package dev.exitflow.model.runtime;

import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Token pruning between stages (PyramidDrop-style): each text passes on its [CLS] and [SEP] and
 * the {@code keep} fraction (rounded up) of its content tokens that score highest, in their
 * original order. The score is the cosine similarity of a token's hidden state to the [CLS]
 * state, which the previous stage has already computed. The next stage sees a shorter text: its
 * attention mask, later pooling and layer features follow the kept tokens, and padding is never
 * kept. A keep ratio of 1 returns the batch itself.
 *
 * <p>With merging (ToMe-style, a plan's {@code merge_pruned}), each pruned content token is not
 * dropped but averaged into the kept content token whose state is most cosine-similar to its own,
 * weighted by how many original tokens each already stands for; the kept token's size (see
 * {@link TokenizedText#sizes}) grows by the pruned one's, and mean pooling weighs tokens by size, so
 * a pruned token still counts in the embedding through its nearest kept one. Attention in later
 * stages still sees each kept token once (no proportional attention).
 */
public final class TokenPruner {
  private TokenPruner() {}

  /** How many tokens a text of {@code length} keeps: [CLS], [SEP] and ceil(keep x content). */
  public static int kept(int length, double keep) {
    if (keep >= 1.0 || length <= 2) {
      return length;
    }
    return 2 + (int) Math.ceil(keep * (length - 2) - 1e-9);
  }

  public static PaddedBatch prune(PaddedBatch in, double keep) {
    return prune(in, keep, false);
  }

  /** As {@link #prune(PaddedBatch, double)}; {@code merge}: fold each pruned token into its nearest kept one. */
  public static PaddedBatch prune(PaddedBatch in, double keep, boolean merge) {
    return prune(in, keep, merge, false);
  }

  /**
   * As {@link #prune(PaddedBatch, double, boolean)}; {@code byRedundancy}: choose the pruned tokens
   * as ToMe does instead of by similarity to [CLS] (see {@link #chooseRedundant}).
   */
  public static PaddedBatch prune(PaddedBatch in, double keep, boolean merge, boolean byRedundancy) {
    if (keep >= 1.0) {
      return in;
    }
    int hidden = in.hiddenSize();
    List<TokenizedText> tokens = in.tokens();
    int[][] keptRows = new int[tokens.size()][];
    int[][] matches = new int[tokens.size()][]; // by redundancy: each pruned token's twin (its row), else -1
    int longest = 0;
    for (int b = 0; b < tokens.size(); b++) {
      int length = tokens.get(b).length();
      if (byRedundancy) {
        matches[b] = new int[length];
        keptRows[b] = chooseRedundant(in.values(), b * in.longest() * hidden, length, hidden, keep, matches[b]);
      } else {
        keptRows[b] = choose(in.values(), b * in.longest() * hidden, length, hidden, keep);
      }
      longest = Math.max(longest, keptRows[b].length);
    }
    float[] v = new float[tokens.size() * longest * hidden];
    List<TokenizedText> out = new ArrayList<>(tokens.size());
    for (int b = 0; b < tokens.size(); b++) {
      TokenizedText t = tokens.get(b);
      int[] rows = keptRows[b];
      long[] ids = new long[rows.length];
      long[] types = new long[rows.length];
      float[] sizes = merge || t.sizes() != null ? new float[rows.length] : null;
      for (int i = 0; i < rows.length; i++) {
        ids[i] = t.ids()[rows[i]];
        types[i] = t.typeIds()[rows[i]];
        System.arraycopy(in.values(), (b * in.longest() + rows[i]) * hidden, v, (b * longest + i) * hidden, hidden);
        if (sizes != null) {
          sizes[i] = t.size(rows[i]);
        }
      }
      if (merge) {
        merge(in.values(), b * in.longest() * hidden, t, rows, hidden, v, b * longest * hidden, sizes, matches[b]);
      }
      out.add(new TokenizedText(ids, types, t.truncated(), sizes));
    }
    return new PaddedBatch(out, v, longest, hidden, in.features());
  }

  /**
   * Folds the content tokens of {@code t} (rows of {@code h} from {@code offset}) that {@code rows}
   * leaves out into their most cosine-similar kept content token: the kept rows of {@code v} (from
   * {@code out}, already copied there) become the size-weighted mean of themselves and the tokens
   * folded into them, and {@code sizes} (already the kept tokens' own) grow accordingly. [CLS] and
   * [SEP] take in nothing; with no kept content token the pruned ones are dropped. {@code matches},
   * when not null, names each pruned token's target row (>= 0) instead: the search is skipped.
   */
  static void merge(float[] h, int offset, TokenizedText t, int[] rows, int hidden, float[] v, int out, float[] sizes,
      int[] matches) {
    int length = t.length();
    int n = rows.length;
    int targets = n - 2;
    if (targets <= 0 || n == length) {
      return;
    }
    float[] unit = new float[targets * hidden];
    for (int i = 0; i < targets; i++) {
      int src = offset + rows[i + 1] * hidden;
      float inv = (float) (1.0 / Math.max(norm(h, src, hidden), 1e-12));
      for (int d = 0; d < hidden; d++) {
        unit[i * hidden + d] = h[src + d] * inv;
      }
    }
    double[] sum = new double[targets * hidden];
    float[] size = new float[targets];
    for (int i = 0; i < targets; i++) {
      size[i] = sizes[i + 1];
      int src = offset + rows[i + 1] * hidden;
      for (int d = 0; d < hidden; d++) {
        sum[i * hidden + d] = (double) size[i] * h[src + d];
      }
    }
    boolean[] kept = new boolean[length];
    for (int r : rows) {
      kept[r] = true;
    }
    for (int p = 1; p < length - 1; p++) {
      if (kept[p]) {
        continue;
      }
      int row = offset + p * hidden;
      int best = 0;
      float bestDot = Float.NEGATIVE_INFINITY;
      if (matches != null && matches[p] >= 0) {
        best = Arrays.binarySearch(rows, 1, n - 1, matches[p]) - 1;
        bestDot = Float.POSITIVE_INFINITY;
      }
      for (int i = 0; i < targets && bestDot != Float.POSITIVE_INFINITY; i++) {
        float dot = dot(h, row, unit, i * hidden, hidden);
        if (dot > bestDot) {
          bestDot = dot;
          best = i;
        }
      }
      float w = t.size(p);
      size[best] += w;
      for (int d = 0; d < hidden; d++) {
        sum[best * hidden + d] += (double) w * h[row + d];
      }
    }
    for (int i = 0; i < targets; i++) {
      if (size[i] == sizes[i + 1]) {
        continue; // took in nothing: its state stays exactly as it was
      }
      sizes[i + 1] = size[i];
      int dst = out + (i + 1) * hidden;
      for (int d = 0; d < hidden; d++) {
        v[dst + d] = (float) (sum[i * hidden + d] / size[i]);
      }
    }
  }

  /** Dot product of {@code a}'s row at {@code i} and {@code b}'s at {@code j}, four sums at a time. */
  private static float dot(float[] a, int i, float[] b, int j, int n) {
    float s0 = 0;
    float s1 = 0;
    float s2 = 0;
    float s3 = 0;
    int d = 0;
    for (; d + 3 < n; d += 4) {
      s0 += a[i + d] * b[j + d];
      s1 += a[i + d + 1] * b[j + d + 1];
      s2 += a[i + d + 2] * b[j + d + 2];
      s3 += a[i + d + 3] * b[j + d + 3];
    }
    for (; d < n; d++) {
      s0 += a[i + d] * b[j + d];
    }
    return (s0 + s1) + (s2 + s3);
  }

  /**
   * Rows a text keeps, ascending, chosen as ToMe's bipartite matching does: the content tokens
   * split into A (odd positions) and B (even positions); each A token scores its highest cosine
   * similarity to a B token; the A tokens that score highest (the most redundant) are pruned, as
   * many as the keep ratio asks. A holds at least half of the content tokens, so any ratio from 0.5
   * up is met (below it, and for texts too short to split, the [CLS] criterion chooses).
   * {@code matches} (one per token) receives each pruned token's twin's row, -1 for the others.
   */
  static int[] chooseRedundant(float[] h, int offset, int length, int hidden, double keep, int[] matches) {
    Arrays.fill(matches, -1);
    int n = kept(length, keep);
    int content = length - 2;
    int nb = content / 2;
    int remove = length - n;
    int na = content - nb;
    if (n == length || nb == 0 || remove > na) {
      return choose(h, offset, length, hidden, keep);
    }
    float[] unit = new float[nb * hidden];
    for (int j = 0; j < nb; j++) {
      int src = offset + (2 + 2 * j) * hidden;
      float inv = (float) (1.0 / Math.max(norm(h, src, hidden), 1e-12));
      for (int d = 0; d < hidden; d++) {
        unit[j * hidden + d] = h[src + d] * inv;
      }
    }
    double[] score = new double[na];
    int[] twin = new int[na];
    for (int i = 0; i < na; i++) {
      int row = offset + (1 + 2 * i) * hidden;
      float best = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < nb; j++) {
        float dot = dot(h, row, unit, j * hidden, hidden);
        if (dot > best) {
          best = dot;
          twin[i] = 2 + 2 * j;
        }
      }
      score[i] = best / Math.max(norm(h, row, hidden), 1e-12);
    }
    Integer[] a = new Integer[na];
    Arrays.setAll(a, i -> i);
    Arrays.sort(a, Comparator.comparingDouble((Integer i) -> -score[i]).thenComparingInt(i -> i));
    boolean[] pruned = new boolean[length];
    for (int k = 0; k < remove; k++) {
      pruned[1 + 2 * a[k]] = true;
      matches[1 + 2 * a[k]] = twin[a[k]]; // B tokens are never pruned: the twin is kept
    }
    int[] rows = new int[n];
    int k = 0;
    for (int t = 0; t < length; t++) {
      if (!pruned[t]) {
        rows[k++] = t;
      }
    }
    return rows;
  }

  /** Rows a text keeps, ascending: first and last always, then the content tokens closest to [CLS]. */
  static int[] choose(float[] h, int offset, int length, int hidden, double keep) {
    int n = kept(length, keep);
    if (n == length) {
      int[] all = new int[length];
      Arrays.setAll(all, i -> i);
      return all;
    }
    double[] score = new double[length];
    double clsNorm = norm(h, offset, hidden);
    for (int t = 1; t < length - 1; t++) {
      int row = offset + t * hidden;
      double dot = 0;
      for (int d = 0; d < hidden; d++) {
        dot += (double) h[offset + d] * h[row + d];
      }
      score[t] = dot / Math.max(clsNorm * norm(h, row, hidden), 1e-12);
    }
    Integer[] content = new Integer[length - 2];
    Arrays.setAll(content, i -> i + 1);
    Arrays.sort(content, Comparator.comparingDouble((Integer t) -> -score[t]).thenComparingInt(t -> t));
    int[] rows = new int[n];
    rows[0] = 0;
    for (int i = 0; i < n - 2; i++) {
      rows[i + 1] = content[i];
    }
    rows[n - 1] = length - 1;
    Arrays.sort(rows, 1, n - 1);
    return rows;
  }

  private static double norm(float[] h, int row, int hidden) {
    double s = 0;
    for (int d = 0; d < hidden; d++) {
      s += (double) h[row + d] * h[row + d];
    }
    return Math.sqrt(s);
  }
}
