package dev.exitflow.model.runtime;

import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.Pooling;
import dev.exitflow.model.adapter.ExitAdapter;

/**
 * Turns a hidden state into the sentence embedding: pooling over the live tokens (or, when the
 * exit has a calibrated adapter, the adapter applied to the state's pooled layer features), L2
 * normalisation, then optional Matryoshka truncation to the first {@code dimensions} components,
 * renormalised.
 */
public final class ExitHead {
  private final Pooling pooling;
  private final int hiddenSize;
  private final ExitAdapter adapter;

  public ExitHead(Pooling pooling, int hiddenSize) {
    this(pooling, hiddenSize, null);
  }

  public ExitHead(Pooling pooling, int hiddenSize, ExitAdapter adapter) {
    this.pooling = pooling;
    this.hiddenSize = hiddenSize;
    this.adapter = adapter;
  }

  /** The adapter this head applies, or null for plain pooling. */
  public ExitAdapter adapter() {
    return adapter;
  }

  /** Checks a requested size before any work is spent on it; null means the full size. */
  public void checkDimensions(Integer dimensions) {
    if (dimensions != null && (dimensions < 1 || dimensions > hiddenSize)) {
      throw InvalidInputException.dimensionsOutOfRange(dimensions, hiddenSize);
    }
  }

  public float[] apply(HiddenState state, Integer dimensions) {
    checkDimensions(dimensions);
    float[] pooled = adapter != null ? adapter.apply(state.features()) : pool(state);
    int n = dimensions == null ? hiddenSize : dimensions;
    float[] out = new float[n];
    System.arraycopy(pooled, 0, out, 0, n);
    return normalize(out);
  }

  float[] pool(HiddenState s) {
    float[] v = new float[hiddenSize];
    float[] h = s.values();
    if (pooling == Pooling.CLS) {
      System.arraycopy(h, 0, v, 0, hiddenSize);
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
