package dev.exitflow.streams;

import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.tokenize.TextTokenizer;
import java.util.List;

/** Long real English text for chunk-mode tests: Europarl sentences joined until the tokenizer counts enough. */
public final class Prose {
  private Prose() {}

  /** At least {@code tokens} tokens ([CLS] and [SEP] included), at most one sentence more. */
  public static String ofTokens(TextTokenizer tokenizer, int tokens) {
    List<String> sentences = Corpus.named("europarl-en.txt");
    StringBuilder b = new StringBuilder();
    int count = 2;
    for (int i = 0; count < tokens; i++) {
      String s = sentences.get(i % sentences.size());
      // Joined at spaces, a sentence keeps its own tokens: its count without [CLS] and [SEP] adds up.
      count += tokenizer.tokenize(List.of(s)).get(0).length() - 2;
      b.append(b.length() == 0 ? "" : " ").append(s);
    }
    return b.toString();
  }

  public static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += x * x;
    }
    return Math.sqrt(s);
  }

  public static double cosine(float[] a, double[] b) {
    double dot = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      nb += b[i] * b[i];
    }
    return dot / (norm(a) * Math.sqrt(nb));
  }
}
