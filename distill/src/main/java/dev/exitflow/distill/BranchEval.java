package dev.exitflow.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsEvaluator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A branch's embeddings of a dataset's sentences (from their precomputed exit states) and their STS Spearman. */
final class BranchEval {
  private static final int BATCH = 64;

  private BranchEval() {}

  /** Unit-length branch embeddings of every text in {@code states} at exit {@code exit}. */
  static float[][] embed(NDManager parent, BranchLayer branch, ExitStates states, int exit) {
    float[][] out = new float[states.size()][];
    for (int[] members : Batches.byLength(states, BATCH)) {
      try (NDManager m = parent.newSubManager()) {
        NDArray pooled = branch.forward(Batches.states(m, states, exit, members), Batches.mask(m, states, members));
        float[] flat = pooled.toFloatArray();
        int h = states.hiddenSize();
        for (int b = 0; b < members.length; b++) {
          float[] v = new float[h];
          System.arraycopy(flat, b * h, v, 0, h);
          out[members[b]] = unit(v);
        }
      }
    }
    return out;
  }

  /** Spearman x100 of the branch on {@code data}, whose sentences ({@link StsDataset#sentences()} order) {@code states} holds. */
  static double spearman(NDManager parent, BranchLayer branch, StsDataset data, ExitStates states, int exit) {
    Map<String, Integer> index = data.sentences();
    return 100 * StsEvaluator.spearman(data, index, embed(parent, branch, states, exit));
  }

  static List<String> sentences(StsDataset data) {
    return new ArrayList<>(data.sentences().keySet());
  }

  static float[] unit(float[] v) {
    double s = 0;
    for (float x : v) {
      s += (double) x * x;
    }
    float inv = (float) (1 / Math.max(Math.sqrt(s), 1e-12));
    for (int i = 0; i < v.length; i++) {
      v[i] *= inv;
    }
    return v;
  }
}
