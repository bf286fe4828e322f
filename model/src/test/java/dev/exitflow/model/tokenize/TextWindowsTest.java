package dev.exitflow.model.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.calibrate.Corpus;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Windows past the model's maximum: each fits, each tokenizes to a slice of the whole text, neighbours overlap. */
class TextWindowsTest {
  private static final ModelDescriptor MODEL = TestModels.builtin("all-minilm-l6-v2"); // 256 tokens

  @Test
  void aTextThatFitsIsOneWindowUnchanged() {
    try (TextTokenizer t = new TextTokenizer(MODEL)) {
      String text = "  A man is playing a flute.  ";
      TextWindows w = t.windows(text, 32);
      assertEquals(List.of(text), w.texts());
      assertEquals(t.tokenize(List.of(text)).get(0).length(), w.tokens());
    }
  }

  @Test
  void aLongTextIsCutIntoOverlappingWindowsThatTokenizeAsSlicesOfIt() throws Exception {
    // Prose with accents and characters outside the BMP, whose offsets differ in code points and UTF-16 units.
    StringBuilder b = new StringBuilder();
    List<String> sentences = Corpus.named("europarl-en.txt");
    for (int i = 0; b.length() < 25_000; i++) {
      b.append(sentences.get(i)).append(i % 7 == 3 ? " \uD83D\uDE00 café " : " ");
    }
    String text = b.toString().strip();
    try (TextTokenizer t = new TextTokenizer(MODEL);
        HuggingFaceTokenizer whole = HuggingFaceTokenizer.builder().optTokenizerPath(MODEL.tokenizerFile())
            .optTruncation(false).optPadding(false).build()) {
      long[] all = content(whole.encode(text).getIds());
      TextWindows w = t.windows(text, 32);
      assertEquals(all.length + 2, w.tokens());
      assertTrue(all.length > 4000, all.length + " tokens");
      int room = MODEL.maxSequenceLength() - 2;
      // Each step advances at least half a window less the overlap, at most a window less the overlap.
      assertTrue(w.count() >= (all.length - 32) / (room - 32) && w.count() <= 2 * all.length / (room / 2 - 32),
          w.count() + " windows of " + all.length + " tokens");
      int previousStart = -1;
      int previousEnd = 0;
      for (int i = 0; i < w.count(); i++) {
        TokenizedText piece = t.tokenize(List.of(w.texts().get(i))).get(0);
        assertFalse(piece.truncated(), "window " + i + " fits");
        long[] ids = content(piece.ids());
        int at = indexOf(all, ids, Math.max(0, previousStart + 1));
        assertTrue(at >= 0, "window " + i + " is a slice of the text's tokens");
        assertTrue(at > previousStart && at <= previousEnd, "window " + i + " starts inside the one before");
        if (i > 0) {
          assertTrue(previousEnd - at >= 16 && previousEnd - at <= 64,
              "window " + i + " overlaps by " + (previousEnd - at) + " tokens (32 asked, moved to a word start)");
        }
        previousStart = at;
        previousEnd = at + ids.length;
      }
      assertEquals(0, indexOf(all, content(t.tokenize(List.of(w.texts().get(0))).get(0).ids()), 0));
      assertEquals(all.length, previousEnd, "the last window ends with the text");
    }
  }

  private static long[] content(long[] ids) {
    return Arrays.copyOfRange(ids, 1, ids.length - 1); // without [CLS] and [SEP]
  }

  private static int indexOf(long[] all, long[] part, int from) {
    for (int i = from; i + part.length <= all.length; i++) {
      if (Arrays.equals(all, i, i + part.length, part, 0, part.length)) {
        return i;
      }
    }
    return -1;
  }
}
