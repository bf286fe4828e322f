package dev.exitflow.model.calibrate;

import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
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
 * unused), or the distinct non-blank lines of any other text file; or several such files joined
 * with '+' (e.g. {@code sts-train.csv+europarl-en.txt}), their sentences in that order, each once.
 */
public final class Corpus {
  /** Joins the files of a corpus made of several. */
  public static final String JOIN = "+";

  private Corpus() {}

  /**
   * The sentences of a corpus by name: one file, or several joined with {@value #JOIN}; each a
   * path or the name of a file shipped in data/ (see {@link StsFiles#locate}).
   */
  public static List<String> named(String spec) {
    Set<String> sentences = new LinkedHashSet<>();
    for (Path file : files(spec)) {
      sentences.addAll(read(file));
    }
    return new ArrayList<>(sentences);
  }

  /** The files of a corpus by name, in order. */
  public static List<Path> files(String spec) {
    List<Path> files = new ArrayList<>();
    for (String part : spec.split(java.util.regex.Pattern.quote(JOIN), -1)) {
      if (part.isBlank()) {
        throw new IllegalArgumentException("corpus '" + spec + "' has an empty part");
      }
      files.add(StsFiles.locate(part.strip()));
    }
    return files;
  }

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
