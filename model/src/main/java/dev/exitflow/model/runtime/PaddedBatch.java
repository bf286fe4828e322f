package dev.exitflow.model.runtime;

import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.List;

/**
 * A stage's output for a whole batch: [batch, longest, hidden] floats, padding rows included.
 * Handing this to the next stage unchanged reproduces the unmodified model exactly, even for
 * dynamically quantized graphs whose scales see the padding rows; {@link #split} strips the
 * padding when requests go separate ways.
 */
public record PaddedBatch(List<TokenizedText> tokens, float[] values, int longest, int hiddenSize) {

  /** Each text's own rows, padding dropped. */
  public List<HiddenState> split() {
    List<HiddenState> states = new ArrayList<>(tokens.size());
    for (int b = 0; b < tokens.size(); b++) {
      int len = tokens.get(b).length();
      float[] v = new float[len * hiddenSize];
      System.arraycopy(values, b * longest * hiddenSize, v, 0, v.length);
      states.add(new HiddenState(v, len, hiddenSize));
    }
    return states;
  }

  /** Re-batches texts that arrive with their own hidden states; padding rows are zeros. */
  public static PaddedBatch of(List<TokenizedText> tokens, List<HiddenState> states, int hiddenSize) {
    int longest = tokens.stream().mapToInt(TokenizedText::length).max().orElse(0);
    float[] v = new float[tokens.size() * longest * hiddenSize];
    for (int b = 0; b < tokens.size(); b++) {
      float[] s = states.get(b).values();
      System.arraycopy(s, 0, v, b * longest * hiddenSize, s.length);
    }
    return new PaddedBatch(tokens, v, longest, hiddenSize);
  }
}
