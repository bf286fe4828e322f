package dev.exitflow.model.runtime;

import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.List;

/**
 * A stage's output for a whole batch: [batch, longest, hidden] floats, padding rows included.
 * Handing this to the next stage unchanged reproduces the unmodified model exactly, even for
 * dynamically quantized graphs whose scales see the padding rows; {@link #split} strips the
 * padding when requests go separate ways. {@code features} holds, per text, the pooled layer
 * states so far (see {@link LayerFeatures}), or is null when the stages do not collect them.
 * {@code adapted} holds, per text, the unnormalised embedding of the stage's exit adapter when the
 * stage applied it itself ({@link ExitPoolingSession}), else null.
 */
public record PaddedBatch(List<TokenizedText> tokens, float[] values, int longest, int hiddenSize, float[][] features,
    float[][] adapted) {

  /** A batch whose exit adapter, if any, has not been applied yet. */
  public PaddedBatch(List<TokenizedText> tokens, float[] values, int longest, int hiddenSize, float[][] features) {
    this(tokens, values, longest, hiddenSize, features, null);
  }

  /** A batch without pooled layer features. */
  public PaddedBatch(List<TokenizedText> tokens, float[] values, int longest, int hiddenSize) {
    this(tokens, values, longest, hiddenSize, null);
  }

  /** Each text's own rows, padding dropped; its features travel with it. */
  public List<HiddenState> split() {
    List<HiddenState> states = new ArrayList<>(tokens.size());
    for (int b = 0; b < tokens.size(); b++) {
      int len = tokens.get(b).length();
      float[] v = new float[len * hiddenSize];
      System.arraycopy(values, b * longest * hiddenSize, v, 0, v.length);
      states.add(new HiddenState(v, len, hiddenSize, features == null ? null : features[b], tokens.get(b)));
    }
    return states;
  }

  /**
   * Re-batches texts that arrive with their own hidden states (and features); padding rows are
   * zeros. Texts without features get zero features when others have them. A state that carries
   * its tokens (pruned ones, say) brings them into the batch instead of the text's own.
   */
  public static PaddedBatch of(List<TokenizedText> texts, List<HiddenState> states, int hiddenSize) {
    List<TokenizedText> tokens = new ArrayList<>(texts.size());
    for (int b = 0; b < texts.size(); b++) {
      TokenizedText own = states.get(b).tokens();
      tokens.add(own != null ? own : texts.get(b));
    }
    int longest = tokens.stream().mapToInt(TokenizedText::length).max().orElse(0);
    float[] v = new float[tokens.size() * longest * hiddenSize];
    // Texts that skipped feature pooling (nothing would read theirs) get zeros, so the batch can
    // still pool for those that need it.
    int width = states.stream().filter(s -> s.features() != null).mapToInt(s -> s.features().length).max().orElse(-1);
    float[][] features = width < 0 ? null : new float[tokens.size()][];
    for (int b = 0; b < tokens.size(); b++) {
      float[] s = states.get(b).values();
      System.arraycopy(s, 0, v, b * longest * hiddenSize, s.length);
      if (features != null) {
        float[] f = states.get(b).features();
        features[b] = f != null ? f : new float[width];
      }
    }
    return new PaddedBatch(tokens, v, longest, hiddenSize, features);
  }
}
