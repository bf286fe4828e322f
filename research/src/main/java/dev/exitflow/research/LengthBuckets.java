package dev.exitflow.research;

import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.List;

/**
 * The texts of a one-text-per-line file (or an STS CSV's sentences) grouped by token count, for
 * the long-text benchmarks. Bucket {@code L} of lengths {@code L1 < L2 < ...} holds the texts of
 * more than the previous length (half of {@code L1} for the first) and at most {@code L} tokens,
 * [CLS] and [SEP] included; texts the tokenizer cut, or of no bucket, are left out.
 */
record LengthBuckets(String dataset, List<Bucket> buckets) {

  /** One bucket's texts, in file order, and their token counts. */
  record Bucket(int above, int upTo, List<String> texts, int[] tokens) {
    long totalTokens() {
      long t = 0;
      for (int n : tokens) {
        t += n;
      }
      return t;
    }

    double meanTokens() {
      return texts.isEmpty() ? 0 : (double) totalTokens() / texts.size();
    }

    String label() {
      return above + 1 + "-" + upTo;
    }
  }

  /**
   * Reads {@code dataset} (a path or a file shipped in data/) and buckets its distinct texts by
   * {@code lengths} (increasing), keeping at most {@code perBucket} per bucket, evenly spaced over
   * the file, so a bucket samples all of it rather than its beginning.
   */
  static LengthBuckets read(String dataset, List<Integer> lengths, int perBucket, TextTokenizer tokenizer) {
    for (int i = 1; i < lengths.size(); i++) {
      if (lengths.get(i) <= lengths.get(i - 1)) {
        throw new IllegalArgumentException("--lengths must increase, got " + lengths);
      }
    }
    List<String> texts = Corpus.read(StsFiles.locate(dataset));
    List<TokenizedText> tokens = tokenizer.tokenize(texts);
    List<Bucket> buckets = new ArrayList<>();
    for (int b = 0; b < lengths.size(); b++) {
      int above = b == 0 ? lengths.get(0) / 2 : lengths.get(b - 1);
      int upTo = lengths.get(b);
      List<Integer> members = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        TokenizedText t = tokens.get(i);
        if (!t.truncated() && t.length() > above && t.length() <= upTo) {
          members.add(i);
        }
      }
      int n = Math.min(perBucket, members.size());
      List<String> chosen = new ArrayList<>(n);
      int[] counts = new int[n];
      for (int k = 0; k < n; k++) {
        int i = members.get((int) ((long) k * members.size() / n));
        chosen.add(texts.get(i));
        counts[k] = tokens.get(i).length();
      }
      buckets.add(new Bucket(above, upTo, chosen, counts));
    }
    return new LengthBuckets(dataset, buckets);
  }
}
