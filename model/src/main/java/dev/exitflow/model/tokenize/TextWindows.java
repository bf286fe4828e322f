package dev.exitflow.model.tokenize;

import java.util.List;

/**
 * A text cut into windows that each fit the model: {@code texts} are substrings of the text (the
 * whole text, unchanged, when it fits in one), cut between words where a word boundary is near;
 * {@code tokens} is the whole text's length in tokens, special tokens included, before any cut.
 */
public record TextWindows(List<String> texts, int tokens) {
  public TextWindows {
    texts = List.copyOf(texts);
  }

  public int count() {
    return texts.size();
  }
}
