package dev.exitflow.model.tokenize;

/**
 * One text as the encoder sees it: token ids with the special tokens ([CLS] ... [SEP]) and their
 * type ids, unpadded. {@code truncated} says the text was cut to the model's maximum length.
 */
public record TokenizedText(long[] ids, long[] typeIds, boolean truncated) {
  public int length() {
    return ids.length;
  }
}
