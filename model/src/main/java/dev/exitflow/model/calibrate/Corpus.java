package dev.exitflow.model.calibrate;

import dev.exitflow.model.eval.StsDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Unlabeled sentences to calibrate adapters on: the distinct sentences of an STS CSV (scores
 * unused), or the distinct non-blank lines of any other text file.
 */
public final class Corpus {
  private Corpus() {}

  public static List<String> read(Path file) {
    try {
      String first = Files.newBufferedReader(file, StandardCharsets.UTF_8).readLine();
      if (first != null && first.contains("sentence1") && first.contains("sentence2")) {
        return new ArrayList<>(StsDataset.read(file).sentences().keySet());
      }
      Set<String> lines = new LinkedHashSet<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          lines.add(line.strip());
        }
      }
      if (lines.isEmpty()) {
        throw new IllegalArgumentException("corpus " + file + " holds no sentences");
      }
      return new ArrayList<>(lines);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read corpus " + file, e);
    }
  }
}
