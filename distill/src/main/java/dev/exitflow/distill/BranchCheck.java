package dev.exitflow.distill;

import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.runtime.BranchSession;
import dev.exitflow.model.runtime.HiddenState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether an exported branch graph computes what the trained DJL branch computes: the lowest
 * cosine between the two embeddings over a set of exit states. A branch is saved only when it
 * reaches {@link #MIN_COSINE}.
 */
final class BranchCheck {
  static final double MIN_COSINE = 0.9999;
  private static final int BATCH = 64;

  private BranchCheck() {}

  static double minCosine(NDManager m, BranchLayer trained, Path graph, ExitStates states, int exit, int exitLayer)
      throws OrtException {
    float[][] expected = BranchEval.embed(m, trained, states, exit);
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    double min = 1;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        BranchSession session = new BranchSession(env, graph, exitLayer, states.hiddenSize(), options)) {
      for (int[] members : Batches.byLength(states, BATCH)) {
        List<HiddenState> batch = new ArrayList<>();
        for (int i : members) {
          batch.add(new HiddenState(states.states()[exit][i], states.lengths()[i], states.hiddenSize()));
        }
        float[][] got = session.apply(batch);
        for (int b = 0; b < members.length; b++) {
          float[] g = BranchEval.unit(got[b]);
          float[] e = expected[members[b]];
          double dot = 0;
          for (int d = 0; d < g.length; d++) {
            dot += (double) g[d] * e[d];
          }
          min = Math.min(min, dot);
        }
      }
    }
    return min;
  }
}
