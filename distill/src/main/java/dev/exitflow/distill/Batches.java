package dev.exitflow.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** Texts grouped by token count into batches (little padding), and their padded arrays. */
final class Batches {
  private Batches() {}

  /** Indices of {@code states}' texts, sorted by length and cut into batches of {@code size}. */
  static List<int[]> byLength(ExitStates states, int size) {
    Integer[] order = new Integer[states.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> states.lengths()[i]));
    List<int[]> batches = new ArrayList<>();
    for (int from = 0; from < order.length; from += size) {
      batches.add(Arrays.stream(order, from, Math.min(order.length, from + size)).mapToInt(Integer::intValue).toArray());
    }
    return batches;
  }

  /** [batch, longest, hidden] states of exit {@code exit} for {@code members}, zero-padded. */
  static NDArray states(NDManager m, ExitStates s, int exit, int[] members) {
    return padded(m, s, s.states()[exit], members);
  }

  /** [batch, longest, hidden] deep token states for {@code members}, zero-padded. */
  static NDArray deepTokens(NDManager m, ExitStates s, int[] members) {
    return padded(m, s, s.deepTokens(), members);
  }

  private static NDArray padded(NDManager m, ExitStates s, float[][] rows, int[] members) {
    int h = s.hiddenSize();
    int longest = longest(s, members);
    float[] x = new float[members.length * longest * h];
    for (int b = 0; b < members.length; b++) {
      float[] v = rows[members[b]];
      System.arraycopy(v, 0, x, b * longest * h, v.length);
    }
    return m.create(x, new Shape(members.length, longest, h));
  }

  /** [batch, longest] with 1 on each text's live tokens. */
  static NDArray mask(NDManager m, ExitStates s, int[] members) {
    int longest = longest(s, members);
    float[] mask = new float[members.length * longest];
    for (int b = 0; b < members.length; b++) {
      Arrays.fill(mask, b * longest, b * longest + s.lengths()[members[b]], 1f);
    }
    return m.create(mask, new Shape(members.length, longest));
  }

  /** [batch, hidden] deep embeddings. */
  static NDArray deep(NDManager m, ExitStates s, int[] members) {
    int h = s.hiddenSize();
    float[] t = new float[members.length * h];
    for (int b = 0; b < members.length; b++) {
      System.arraycopy(s.deep()[members[b]], 0, t, b * h, h);
    }
    return m.create(t, new Shape(members.length, h));
  }

  private static int longest(ExitStates s, int[] members) {
    return Arrays.stream(members).map(i -> s.lengths()[i]).max().orElse(0);
  }
}
