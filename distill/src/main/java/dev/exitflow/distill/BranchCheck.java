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
  /**
   * For an int8 model: its branch is exported with int8 weights and dynamically quantized
   * activations, like the model's own layers, so it is compared with the float DJL branch it was
   * trained as; the model's own int8 layer 3 against its float twin in DJL scores about the same.
   */
  static final double MIN_COSINE_INT8 = 0.99;
  private static final int BATCH = 64;

  private BranchCheck() {}

  /** The agreement a branch of a model of {@code precision} must reach. */
  static double minCosine(String precision) {
    return "int8".equals(precision) ? MIN_COSINE_INT8 : MIN_COSINE;
  }

  /** Spearman x100 on {@code data} of the exported branch in ONNX Runtime (the form served). */
  static double spearman(Path graph, int exitLayer, dev.exitflow.model.eval.StsDataset data, ExitStates states,
      int exit) throws OrtException {
    return 100 * dev.exitflow.model.eval.StsEvaluator.spearman(data, data.sentences(), embed(graph, exitLayer, states, exit));
  }

  /**
   * The exported branch's fidelity: the mean cosine of its embeddings to the deep ones over
   * {@code states} (collected with the deep embeddings), as an adapter's is measured; served exits
   * report it and {@code min_fidelity} floors compare against it.
   */
  static double fidelity(Path graph, int exitLayer, ExitStates states, int exit) throws OrtException {
    float[][] got = embed(graph, exitLayer, states, exit);
    double sum = 0;
    for (int i = 0; i < got.length; i++) {
      sum += dot(got[i], states.deep()[i]);
    }
    return sum / got.length;
  }

  /** The exported branch's unit embeddings of {@code states} in ONNX Runtime, in their order. */
  private static float[][] embed(Path graph, int exitLayer, ExitStates states, int exit) throws OrtException {
    float[][] out = new float[states.size()][];
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        BranchSession session = new BranchSession(env, graph, exitLayer, states.hiddenSize(), options)) {
      for (int[] members : Batches.byLength(states, BATCH)) {
        List<HiddenState> batch = new ArrayList<>();
        for (int i : members) {
          batch.add(new HiddenState(states.states()[exit][i], states.lengths()[i], states.hiddenSize()));
        }
        float[][] got = session.apply(batch);
        for (int b = 0; b < members.length; b++) {
          out[members[b]] = BranchEval.unit(got[b]);
        }
      }
    }
    return out;
  }

  static double minCosine(NDManager m, BranchLayer trained, Path graph, ExitStates states, int exit, int exitLayer)
      throws OrtException {
    float[][] expected = BranchEval.embed(m, trained, states, exit);
    float[][] got = embed(graph, exitLayer, states, exit);
    double min = 1;
    for (int i = 0; i < got.length; i++) {
      min = Math.min(min, dot(got[i], expected[i]));
    }
    return min;
  }

  private static double dot(float[] a, float[] b) {
    double dot = 0;
    for (int d = 0; d < a.length; d++) {
      dot += (double) a[d] * b[d];
    }
    return dot;
  }
}
