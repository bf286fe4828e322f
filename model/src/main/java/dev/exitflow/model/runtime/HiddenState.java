package dev.exitflow.model.runtime;

import dev.exitflow.model.tokenize.TokenizedText;

/**
 * One text's hidden state after some stage: {@code length} rows of {@code hiddenSize} floats,
 * row-major, padding already stripped. This is what travels between stages, so that a request can
 * be re-batched with different companions at the next stage. {@code features} are the pooled
 * states of the layers run so far, which exit adapters read (null when no adapter needs them).
 * {@code tokens} are the tokens the rows belong to: fewer than the text's own once a stage
 * boundary pruned some (see {@link TokenPruner}); null means the text's own.
 */
public record HiddenState(float[] values, int length, int hiddenSize, float[] features, TokenizedText tokens) {
  public HiddenState {
    if (values.length != length * hiddenSize) {
      throw new IllegalArgumentException(
          "hidden state of " + values.length + " floats is not " + length + " x " + hiddenSize);
    }
    if (tokens != null && tokens.length() != length) {
      throw new IllegalArgumentException("hidden state of " + length + " rows for " + tokens.length() + " tokens");
    }
  }

  /** A state of the text's own tokens without pooled layer features. */
  public HiddenState(float[] values, int length, int hiddenSize) {
    this(values, length, hiddenSize, null, null);
  }
}
