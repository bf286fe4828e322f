package dev.exitflow.model.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Groups texts by length into batches of at most {@code maxTexts} texts and {@code maxTokens}
 * padded tokens (texts x the longest): short texts batch wide, long ones narrow, so a batch's
 * activations (attention grows with the square of the length) stay bounded and little compute is
 * spent on padding. A text longer than the budget goes alone. The engine cuts sorted texts into
 * batches with it ({@link #ranges}); the actor runtime's stage batcher fills each batch around its
 * most urgent request ({@link #fill}).
 */
public final class TokenBudget {
  private TokenBudget() {}

  /** {@link #fill(Object, List, ToIntFunction, int, int, double)} with no limit on padding. */
  public static <T> List<T> fill(T seed, List<T> candidates, ToIntFunction<T> length, int maxTexts, int maxTokens) {
    return fill(seed, candidates, length, maxTexts, maxTokens, 1.0);
  }

  /**
   * A batch of {@code seed} and the {@code candidates} closest to it in length (earlier candidates
   * first among equals), while it stays within the limits; a candidate that would overflow the
   * padded tokens, or make padding more than {@code maxPaddingShare} of them, is passed over.
   */
  public static <T> List<T> fill(T seed, List<T> candidates, ToIntFunction<T> length, int maxTexts, int maxTokens,
      double maxPaddingShare) {
    int seedLength = length.applyAsInt(seed);
    List<T> byCloseness = new ArrayList<>(candidates);
    byCloseness.sort(Comparator.comparingInt((T c) -> Math.abs(length.applyAsInt(c) - seedLength)));
    List<T> batch = new ArrayList<>();
    batch.add(seed);
    int longest = seedLength;
    long real = seedLength;
    for (T c : byCloseness) {
      if (batch.size() >= maxTexts) {
        break;
      }
      int own = length.applyAsInt(c);
      int newLongest = Math.max(longest, own);
      long padded = (long) newLongest * (batch.size() + 1);
      if (padded > maxTokens || padded - (real + own) > maxPaddingShare * padded) {
        continue;
      }
      batch.add(c);
      longest = newLongest;
      real += own;
    }
    return batch;
  }

  /**
   * {@code [from, to)} index ranges over {@code ascending} (token counts, non-decreasing): each a
   * {@link #fill} from its shortest text, which over sorted lengths takes the texts that follow it.
   */
  public static List<int[]> ranges(int[] ascending, int maxTexts, int maxTokens) {
    List<int[]> out = new ArrayList<>();
    int from = 0;
    while (from < ascending.length) {
      List<Integer> next = new ArrayList<>();
      for (int i = from + 1; i < Math.min(ascending.length, from + maxTexts); i++) {
        next.add(i);
      }
      int to = from + fill(from, next, i -> ascending[i], maxTexts, maxTokens).size();
      out.add(new int[] {from, to});
      from = to;
    }
    return out;
  }
}
