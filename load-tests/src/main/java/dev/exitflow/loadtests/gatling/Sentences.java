package dev.exitflow.loadtests.gatling;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/** STS-B test sentences as Gatling feeder records ({@code text} JSON-escaped, and the {@code model}). */
final class Sentences {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Sentences() {}

  static List<Map<String, Object>> feed() {
    try {
      String model = System.getProperty("exitflow.model", "all-minilm-l6-v2");
      return StsDataset.read(StsFiles.locate("sts-test.csv")).sentences().keySet().stream()
          .map(s -> Map.<String, Object>of("text", escape(s), "model", model))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The sentence as it goes inside a JSON string literal. */
  static String escape(String s) {
    try {
      String quoted = JSON.writeValueAsString(s);
      return quoted.substring(1, quoted.length() - 1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
