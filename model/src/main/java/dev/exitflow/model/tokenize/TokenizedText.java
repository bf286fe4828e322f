package dev.exitflow.model.tokenize;

/**
 * One text as the encoder sees it: token ids with the special tokens ([CLS] ... [SEP]) and their
 * type ids, unpadded. {@code truncated} says the text was cut to the model's maximum length.
 * {@code sizes}, when not null, says how many of the text's original tokens each token stands
 * for: token pruning with merging (see {@code TokenPruner}) folds pruned tokens into kept ones, and
 * mean pooling then weighs each token by its size. Null: every token is itself alone.
 */
public record TokenizedText(long[] ids, long[] typeIds, boolean truncated, float[] sizes) {
  public TokenizedText {
    if (sizes != null && sizes.length != ids.length) {
      throw new IllegalArgumentException(sizes.length + " token sizes for " + ids.length + " tokens");
    }
  }

  /** A text whose every token stands for itself. */
  public TokenizedText(long[] ids, long[] typeIds, boolean truncated) {
    this(ids, typeIds, truncated, null);
  }

  public int length() {
    return ids.length;
  }

  /** How many original tokens token {@code i} stands for (1 unless merging folded others into it). */
  public float size(int i) {
    return sizes == null ? 1f : sizes[i];
  }
}
