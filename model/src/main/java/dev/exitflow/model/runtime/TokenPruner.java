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
    if (keep >= 1.0) {
      return in;
    }
    int hidden = in.hiddenSize();
    List<TokenizedText> tokens = in.tokens();
    int[][] keptRows = new int[tokens.size()][];
    int longest = 0;
    for (int b = 0; b < tokens.size(); b++) {
      keptRows[b] = choose(in.values(), b * in.longest() * hidden, tokens.get(b).length(), hidden, keep);
      longest = Math.max(longest, keptRows[b].length);
    }
    float[] v = new float[tokens.size() * longest * hidden];
    List<TokenizedText> out = new ArrayList<>(tokens.size());
    for (int b = 0; b < tokens.size(); b++) {
      TokenizedText t = tokens.get(b);
      int[] rows = keptRows[b];
      long[] ids = new long[rows.length];
      long[] types = new long[rows.length];
      for (int i = 0; i < rows.length; i++) {
        ids[i] = t.ids()[rows[i]];
        types[i] = t.typeIds()[rows[i]];
        System.arraycopy(in.values(), (b * in.longest() + rows[i]) * hidden, v, (b * longest + i) * hidden, hidden);
      }
      out.add(new TokenizedText(ids, types, t.truncated()));
    }
    return new PaddedBatch(out, v, longest, hidden, in.features());
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
