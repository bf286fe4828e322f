package dev.exitflow.model.runtime;

import dev.exitflow.model.tokenize.TokenizedText;
import java.util.Arrays;
import java.util.List;

/**
 * Pools a layer's padded [batch, longest, hidden] output into the features exit adapters read:
 * per layer, the mean over the text's content tokens, the first token's state ([CLS]) and the
 * last live token's state ([SEP]). At shallow layers the special tokens' states are outliers that
 * swamp a plain mean, and they carry sentence-level information of their own; keeping the three
 * apart raised STS-B dev Spearman of a ridge adapter by about a point over the plain means.
 *
 * <p>Stages append their layers in layer order, so a request's features after layer k are always
 * [layer 0 | layer 1 | ... | layer k], whichever batches it travelled in.
 */
public final class LayerFeatures {
  /** Pooled vectors per layer: content mean, first token, last token. */
  public static final int PER_LAYER = 3;

  private LayerFeatures() {}

  /** Floats of features after layer {@code layer} (0 is the embeddings). */
  public static int width(int layer, int hiddenSize) {
    return (layer + 1) * PER_LAYER * hiddenSize;
  }

  /**
   * A copy of {@code features} keeping only the content means and the [SEP] states of layers 1 and
   * up: [CLS] states and the embeddings' [SEP] are set to 0. Fitted on such features, a ridge
   * adapter gives them weight 0 (constant features get none), and {@link AdapterSession} leaves
   * zero-weight features out of its product, so the adapter reads fewer features with the layer
   * features and the adapter file as they are. On the int8 model's STS-B dev set this scored about a
   * point above all features (its [CLS] states are noisy); on fp32's about half a point below.
   */
  public static float[] meansAndSep(float[] features, int hidden) {
    float[] out = features.clone();
    Arrays.fill(out, 2 * hidden, Math.min(out.length, 3 * hidden), 0f);
    for (int at = hidden; at < out.length; at += PER_LAYER * hidden) {
      Arrays.fill(out, at, at + hidden, 0f);
    }
    return out;
  }

  /**
   * The indices, ascending, of the features {@link #meansAndSep} keeps among the first
   * {@code width}: the content means of every layer and the [SEP] states from layer 1 on. The
   * calibration fits on these alone (the others are zeros there), a third fewer rows and columns
   * in its Gram matrix.
   */
  public static int[] meansAndSepIndices(int width, int hidden) {
    float[] probe = new float[width];
    Arrays.fill(probe, 1f);
    float[] kept = meansAndSep(probe, hidden);
    return java.util.stream.IntStream.range(0, width).filter(j -> kept[j] != 0f).toArray();
  }

  /** Appends each text's pooled rows of {@code padded} to its features so far ({@code previous} may be null). */
  public static float[][] append(float[][] previous, float[] padded, List<TokenizedText> tokens, int longest, int hidden) {
    float[][] out = new float[tokens.size()][];
    for (int b = 0; b < tokens.size(); b++) {
      float[] before = previous == null ? new float[0] : previous[b];
      float[] f = new float[before.length + PER_LAYER * hidden];
      System.arraycopy(before, 0, f, 0, before.length);
      pool(padded, b * longest * hidden, tokens.get(b).length(), hidden, f, before.length);
      out[b] = f;
    }
    return out;
  }

  private static void pool(float[] h, int offset, int length, int hidden, float[] out, int at) {
    // Content tokens exclude [CLS] and [SEP] unless nothing else is there.
    int from = length > 2 ? 1 : 0;
    int to = length > 2 ? length - 1 : length;
    for (int t = from; t < to; t++) {
      int row = offset + t * hidden;
      for (int d = 0; d < hidden; d++) {
        out[at + d] += h[row + d];
      }
    }
    for (int d = 0; d < hidden; d++) {
      out[at + d] /= (to - from);
    }
    System.arraycopy(h, offset, out, at + hidden, hidden);
    System.arraycopy(h, offset + (length - 1) * hidden, out, at + 2 * hidden, hidden);
  }
}
