package dev.exitflow.model.eval;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;

/** STS Benchmark pairs from a CSV with the header {@code sentence1,sentence2,score}. */
public record StsDataset(Path file, List<Pair> pairs) {
  public record Pair(String first, String second, double score) {}

  public static StsDataset read(Path file) throws IOException {
    CSVFormat format = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).get();
    List<Pair> pairs = new ArrayList<>();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (CSVRecord r : format.parse(in)) {
        pairs.add(new Pair(r.get("sentence1"), r.get("sentence2"), Double.parseDouble(r.get("score"))));
      }
    }
    if (pairs.isEmpty()) {
      throw new IOException(file + " holds no sentence pairs");
    }
    return new StsDataset(file, List.copyOf(pairs));
  }

  /** Each distinct sentence once, in order of first appearance, mapped to its position. */
  public Map<String, Integer> sentences() {
    Map<String, Integer> index = new LinkedHashMap<>();
    for (Pair p : pairs) {
      index.putIfAbsent(p.first(), index.size());
      index.putIfAbsent(p.second(), index.size());
    }
    return index;
  }
}
