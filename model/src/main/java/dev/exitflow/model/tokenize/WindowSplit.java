package dev.exitflow.model.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts one untruncated encoding into overlapping windows of at most {@code maxLength} tokens,
 * special tokens included. Windows are cut in token space and handed on as substrings of the text,
 * so the runtime tokenizes, batches and admits them as any other text. A cut falls before a word
 * (a pre-token: BERT splits at spaces and punctuation) whenever one lies in the window's second
 * half: a substring that starts inside a word would tokenize differently ("##ing" becomes "ing").
 */
final class WindowSplit {
  private WindowSplit() {}

  static TextWindows split(String text, Encoding e, int maxLength, int overlap) {
    long[] special = e.getSpecialTokenMask();
    long[] words = e.getWordIds();
    CharSpan[] spans = e.getCharTokenSpans();
    List<Integer> content = new ArrayList<>(); // indices of the text's own tokens
    for (int i = 0; i < special.length; i++) {
      if (special[i] == 0 && spans[i] != null) {
        content.add(i);
      }
    }
    int total = special.length;
    int room = maxLength - (total - content.size());
    if (total <= maxLength || content.isEmpty()) {
      return new TextWindows(List.of(text), total);
    }
    if (overlap < 0 || overlap >= room / 2) {
      throw new IllegalArgumentException("a window overlap of " + overlap + " tokens does not fit windows of "
          + room + " text tokens; it must be at least 0 and under half of them");
    }
    int n = content.size();
    List<String> texts = new ArrayList<>();
    int start = 0;
    while (true) {
      int end = Math.min(start + room, n);
      if (end < n) {
        end = wordStartAtOrBefore(content, words, end, start + room / 2);
      }
      int from = spans[content.get(start)].getStart();
      int to = spans[content.get(end - 1)].getEnd();
      texts.add(text.substring(utf16(text, from), utf16(text, to)));
      if (end == n) {
        break;
      }
      start = Math.max(start + 1, wordStartAtOrBefore(content, words, end - overlap, start + 1));
    }
    return new TextWindows(texts, total);
  }

  /** The last index at or before {@code i} (and above {@code floor}) whose token starts a word; {@code i} if none. */
  private static int wordStartAtOrBefore(List<Integer> content, long[] words, int i, int floor) {
    for (int j = i; j > floor; j--) {
      if (words[content.get(j)] != words[content.get(j - 1)]) {
        return j;
      }
    }
    return i;
  }

  /**
   * The tokenizer's offsets count Unicode code points; Java strings index UTF-16 units, which
   * differ past the first character outside the Basic Multilingual Plane (an emoji).
   */
  private static int utf16(String text, int codePoints) {
    return text.offsetByCodePoints(0, Math.min(codePoints, text.codePointCount(0, text.length())));
  }
}
