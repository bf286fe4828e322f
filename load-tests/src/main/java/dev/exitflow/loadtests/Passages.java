package dev.exitflow.loadtests;

import dev.exitflow.model.tokenize.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Texts of a one-text-per-line file that have at least a number of tokens (a long-text workload). */
final class Passages {
  /** The repository's English passages of ~64/128/256/512 tokens, derived from Europarl (data/europarl). */
  static Path defaultFile() {
    return Path.of(System.getProperty("exitflow.home", ".")).resolve("data/europarl/europarl-passages-en.txt");
  }

  static List<String> read(Path file, TextTokenizer tokenizer, int minTokens) throws IOException {
    List<String> texts = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (!line.isBlank() && tokenizer.tokenize(List.of(line)).get(0).ids().length >= minTokens) {
        texts.add(line);
      }
    }
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("no text of " + minTokens + "+ tokens in " + file);
    }
    System.err.printf("%d texts of %d+ tokens from %s%n", texts.size(), minTokens, file);
    return texts;
  }

  private Passages() {}
}
