package dev.exitflow.distill;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * More unlabeled inputs from the same corpus: copies of its sentences with words dropped or cut
 * to a span. The deep model embeds each copy itself, so every copy is a correct target; the branch
 * sees more varied inputs than 12,000 sentences give.
 */
final class Augment {
  private static final double DROP = 0.15;

  private Augment() {}

  /** {@code sentences} followed by {@code copies} variants of each (duplicates left out). */
  static List<String> of(List<String> sentences, int copies, long seed) {
    Set<String> out = new LinkedHashSet<>(sentences);
    Random random = new Random(seed);
    for (int c = 0; c < copies; c++) {
      for (String s : sentences) {
        String[] words = s.split("\\s+");
        if (words.length < 4) {
          continue;
        }
        String v = c % 2 == 0 ? dropWords(words, random) : span(words, random);
        if (!v.isBlank()) {
          out.add(v);
        }
      }
    }
    return new ArrayList<>(out);
  }

  private static String dropWords(String[] words, Random random) {
    List<String> kept = new ArrayList<>();
    for (String w : words) {
      if (random.nextDouble() >= DROP) {
        kept.add(w);
      }
    }
    return String.join(" ", kept);
  }

  /** A contiguous span of half to all of the words. */
  private static String span(String[] words, Random random) {
    int length = Math.max(2, words.length / 2 + random.nextInt(words.length - words.length / 2 + 1));
    length = Math.min(length, words.length);
    int from = random.nextInt(words.length - length + 1);
    return String.join(" ", java.util.Arrays.asList(words).subList(from, from + length));
  }
}
