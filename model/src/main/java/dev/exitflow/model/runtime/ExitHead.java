package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.Pooling;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns a hidden state into the sentence embedding: pooling over the live tokens (or, when the
 * exit has a calibrated adapter, the adapter applied to the state's pooled layer features), L2
 * normalisation, then optional Matryoshka truncation to the first {@code dimensions} components,
 * renormalised.
 */
public final class ExitHead implements AutoCloseable {
  private final Pooling pooling;
  private final int hiddenSize;
  private final ExitAdapter adapter;
  private final AdapterSession session;
  private final boolean notFaster;
  /** A distilled branch (see {@link BranchSession}) that replaces pooling and adapter at this exit, or null. */
  private final BranchSession branch;

  public ExitHead(Pooling pooling, int hiddenSize) {
    this.pooling = pooling;
    this.hiddenSize = hiddenSize;
    this.adapter = null;
    this.session = null;
    this.notFaster = false;
    this.branch = null;
  }

  /** A head that runs a distilled branch on the exit's token states, then normalises and truncates. */
  public ExitHead(Pooling pooling, int hiddenSize, BranchSession branch) {
    this.pooling = pooling;
    this.hiddenSize = hiddenSize;
    this.adapter = null;
    this.session = null;
    this.notFaster = false;
    this.branch = branch;
  }

  /** A head applying {@code adapter} on ONNX Runtime (see {@link AdapterSession}). */
  public ExitHead(Pooling pooling, int hiddenSize, ExitAdapter adapter, OrtEnvironment env,
      OrtSession.SessionOptions options) throws OrtException {
    this(pooling, hiddenSize, adapter, false, env, options);
  }

  /** As above; {@code notFaster}: calibrate timed this exit, adapter included, no faster than the next exit. */
  public ExitHead(Pooling pooling, int hiddenSize, ExitAdapter adapter, boolean notFaster, OrtEnvironment env,
      OrtSession.SessionOptions options) throws OrtException {
    this.pooling = pooling;
    this.hiddenSize = hiddenSize;
    this.adapter = adapter;
    this.session = new AdapterSession(env, adapter, options);
    this.notFaster = notFaster;
    this.branch = null;
  }

  /**
   * Whether calibrate timed this exit, adapter included, no faster than the next one: the actor
   * runtime's {@code auto} should then not leave here (the quality is lower and no time is saved).
   */
  public boolean notFasterThanNext() {
    return notFaster;
  }

  /** The adapter this head applies, or null for plain pooling. */
  public ExitAdapter adapter() {
    return adapter;
  }

  /**
   * Whether this exit imitates the deep one: it applies a calibrated adapter or a distilled branch
   * (plain pooling of a shallow state does not; {@code auto} leaves only at calibrated exits).
   */
  public boolean calibrated() {
    return adapter != null || branch != null;
  }

  /** The held-out mean cosine of this exit's embeddings to the deep ones; NaN for plain pooling or when not recorded. */
  public double fidelity() {
    return adapter != null ? adapter.fidelity() : branch != null ? branch.fidelity() : Double.NaN;
  }

  /** The distilled branch this head runs, or null. */
  public BranchSession branch() {
    return branch;
  }

  /** Checks a requested size before any work is spent on it; null means the full size. */
  public void checkDimensions(Integer dimensions) {
    if (dimensions != null && (dimensions < 1 || dimensions > hiddenSize)) {
      throw InvalidInputException.dimensionsOutOfRange(dimensions, hiddenSize);
    }
  }

  public float[] apply(HiddenState state, Integer dimensions) {
    return applyAll(List.of(state), dimensions).get(0);
  }

  /**
   * The embeddings of a stage's whole batch: from the adapted vectors its stage computed
   * ({@link PaddedBatch#adapted}, see {@link ExitPoolingSession}) when there are, else as
   * {@link #applyAll(List, Integer)} on its split states.
   */
  public List<float[]> applyAll(PaddedBatch batch, Integer dimensions) {
    return applyAll(batch, null, dimensions);
  }

  /** As {@link #applyAll(PaddedBatch, Integer)} when the batch's {@code states} are split already (null: not needed). */
  public List<float[]> applyAll(PaddedBatch batch, List<HiddenState> states, Integer dimensions) {
    if (batch.adapted() != null && adapter != null) {
      checkDimensions(dimensions);
      return finish(batch.adapted(), dimensions);
    }
    return applyAll(states != null ? states : batch.split(), dimensions);
  }

  /** The embeddings of a batch of states; with an adapter, cheaper per text than {@link #apply} one by one. */
  public List<float[]> applyAll(List<HiddenState> states, Integer dimensions) {
    checkDimensions(dimensions);
    float[][] pooled = new float[states.size()][];
    if (branch != null) {
      try {
        pooled = branch.apply(states);
      } catch (OrtException e) {
        throw new IllegalStateException("branch of exit " + branch.exitLayer() + " failed in ONNX Runtime", e);
      }
    } else if (adapter != null) {
      float[][] features = new float[states.size()][];
      for (int i = 0; i < features.length; i++) {
        features[i] = states.get(i).features();
      }
      try {
        pooled = session.apply(features);
      } catch (OrtException e) {
        throw new IllegalStateException("adapter of exit " + adapter.exitLayer() + " failed in ONNX Runtime", e);
      }
    } else {
      for (int i = 0; i < pooled.length; i++) {
        pooled[i] = pool(states.get(i));
      }
    }
    return finish(pooled, dimensions);
  }

  /** Normalised (and truncated) embeddings of pooled or adapted vectors. */
  private List<float[]> finish(float[][] pooled, Integer dimensions) {
    int n = dimensions == null ? hiddenSize : dimensions;
    List<float[]> out = new ArrayList<>(pooled.length);
    for (float[] p : pooled) {
      out.add(normalize(n == hiddenSize ? p : Arrays.copyOf(p, n)));
    }
    return out;
  }

  /**
   * Matryoshka truncation of a full-size unit embedding from {@link #applyAll}: its first
   * {@code dimensions} components, renormalised (the same as truncating before normalising).
   */
  public static float[] truncate(float[] unit, Integer dimensions) {
    return dimensions == null || dimensions == unit.length ? unit : normalize(Arrays.copyOf(unit, dimensions));
  }

  float[] pool(HiddenState s) {
    float[] v = new float[hiddenSize];
    float[] h = s.values();
    if (pooling == Pooling.CLS) {
      System.arraycopy(h, 0, v, 0, hiddenSize);
      return v;
    }
    TokenizedText tokens = s.tokens();
    if (tokens != null && tokens.sizes() != null) { // merged tokens (see TokenPruner): each weighs its size
      double total = 0;
      for (int t = 0; t < s.length(); t++) {
        float w = tokens.size(t);
        total += w;
        int row = t * hiddenSize;
        for (int d = 0; d < hiddenSize; d++) {
          v[d] += w * h[row + d];
        }
      }
      for (int d = 0; d < hiddenSize; d++) {
        v[d] = (float) (v[d] / total);
      }
      return v;
    }
    for (int t = 0; t < s.length(); t++) {
      int row = t * hiddenSize;
      for (int d = 0; d < hiddenSize; d++) {
        v[d] += h[row + d];
      }
    }
    for (int d = 0; d < hiddenSize; d++) {
      v[d] /= s.length();
    }
    return v;
  }

  @Override
  public void close() throws OrtException {
    if (session != null) {
      session.close();
    }
    if (branch != null) {
      branch.close();
    }
  }

  /** Scales to unit length in place; sentence-transformers clamps the norm at 1e-12 the same way. */
  static float[] normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    float inv = (float) (1.0 / Math.max(Math.sqrt(sum), 1e-12));
    for (int i = 0; i < v.length; i++) {
      v[i] *= inv;
    }
    return v;
  }
}
