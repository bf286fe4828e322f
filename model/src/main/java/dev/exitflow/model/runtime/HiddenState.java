package dev.exitflow.model.runtime;

/**
 * One text's hidden state after some stage: {@code length} rows of {@code hiddenSize} floats,
 * row-major, padding already stripped. This is what travels between stages, so that a request can
 * be re-batched with different companions at the next stage. {@code features} are the pooled
 * states of the layers run so far, which exit adapters read (null when no adapter needs them).
 */
public record HiddenState(float[] values, int length, int hiddenSize, float[] features) {
  public HiddenState {
    if (values.length != length * hiddenSize) {
      throw new IllegalArgumentException(
          "hidden state of " + values.length + " floats is not " + length + " x " + hiddenSize);
    }
  }

  /** A state without pooled layer features. */
  public HiddenState(float[] values, int length, int hiddenSize) {
    this(values, length, hiddenSize, null);
  }
}
