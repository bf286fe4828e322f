package dev.exitflow.model.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts texts sorted by length into consecutive batches of at most {@code maxTexts} texts and
 * {@code maxTokens} padded tokens (texts x the longest, which is the last): short texts batch
 * wide, long ones narrow, so a batch's activations (attention grows with the square of the length)
 * stay bounded. A text longer than the budget goes alone.
 */
public final class TokenBudget {
  private TokenBudget() {}

  /** {@code [from, to)} index ranges over {@code ascending} (token counts, non-decreasing). */
  public static List<int[]> ranges(int[] ascending, int maxTexts, int maxTokens) {
    List<int[]> out = new ArrayList<>();
    int from = 0;
    while (from < ascending.length) {
      int to = from + 1;
      while (to < ascending.length && to - from < maxTexts && (long) ascending[to] * (to - from + 1) <= maxTokens) {
        to++;
      }
      out.add(new int[] {from, to});
      from = to;
    }
    return out;
  }
}
