package dev.exitflow.research;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.exitflow.gateway.cli.InProcessCli;
import dev.exitflow.gateway.cli.InProcessCli.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The research jar's commands, run in-process as the launcher runs them, against the real built-in model. */
class ResearchCommandLineTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static Run run(String... args) {
    return InProcessCli.run(ResearchMain::commandLine, args);
  }

  @Test
  void everyCommandTakesHelpAndAgreesWithTheHelpCommand() {
    InProcessCli.assertEveryCommandTakesHelp(ResearchMain::commandLine, List.of("report", "blocks", "bench", "prune"));
    Run unknown = run("report", "--no-such-option");
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("See './exitflow report --help'."), unknown.err());
  }

  @Test
  void reportWritesTheTableTheJsonAndTheChart() throws Exception {
    Path csv = Files.writeString(tmp.resolve("mini.csv"), """
        sentence1,sentence2,score
        A man is playing a guitar.,A man plays the guitar.,4.8
        A woman is slicing an onion.,A man is driving a car.,0.2
        A cat sits on the mat.,A cat is sitting on a mat.,4.6
        Kids play football in a park.,The stock market fell today.,0.0
        """);
    Path plans = Files.createDirectories(tmp.resolve("plans"));
    Files.writeString(plans.resolve("1.json"), "{\"name\": \"fp32\", \"model\": \"all-minilm-l6-v2\"}");
    Files.writeString(plans.resolve("2.json"), "{\"name\": \"int8-drop\", \"model\": \"all-minilm-l6-v2-q\", "
        + "\"adapters\": false, \"drops\": [{\"layer\": 5, \"block\": \"attention\"}]}");
    Path out = tmp.resolve("report");
    Run r = run("report", "--out", out.toString(), "--plans", plans.toString(), "--dataset", csv.toString(),
        "--speed-sentences", "4", "--rounds", "1", "--no-long");
    assertEquals(0, r.exit(), r.err());
    String md = Files.readString(out.resolve("report.md"));
    assertTrue(md.contains("| int8-drop | int8 | 6 | none | — | 5a |"), md);
    assertFalse(md.contains("## Long texts"), md);
    JsonNode json = JSON.readTree(out.resolve("report.json").toFile());
    assertEquals(6, json.get("rows").size());
    assertEquals("fp32", json.get("baseline").get("plan").asText());
    assertEquals(1.0, json.get("rows").get(2).get("vs_baseline").asDouble(), 1e-9);
    assertTrue(json.get("long_texts") == null || json.get("long_texts").isNull(), json.toString());
    assertTrue(Files.size(out.resolve("pareto.png")) > 1000);
  }

  private Path miniCsv() throws Exception {
    return Files.writeString(tmp.resolve("mini.csv"), """
        sentence1,sentence2,score
        A man is playing a guitar.,A man plays the guitar.,4.8
        A woman is slicing an onion.,A man is driving a car.,0.2
        """);
  }

  @Test
  void reportMeasuresTheShippedPassagesPerLengthAgainstThePlainSession() throws Exception {
    Path plans = Files.createDirectories(tmp.resolve("plans"));
    Files.writeString(plans.resolve("1.json"), "{\"name\": \"fp32\", \"model\": \"all-minilm-l6-v2\"}");
    Path out = tmp.resolve("report");
    Run r = run("report", "--out", out.toString(), "--plans", plans.toString(), "--dataset", miniCsv().toString(),
        "--speed-sentences", "2", "--rounds", "1", "--long-lengths", "64,128", "--long-texts", "2",
        "--long-rounds", "1");
    assertEquals(0, r.exit(), r.err());
    JsonNode longTexts = JSON.readTree(out.resolve("report.json").toFile()).get("long_texts");
    assertTrue(longTexts.get("dataset").asText().endsWith("europarl-passages-en.txt"), longTexts.toString());
    assertEquals("[2,4,6]", longTexts.get("exits").toString());
    JsonNode buckets = longTexts.get("buckets");
    assertEquals(List.of("33-64", "65-128"), List.of(buckets.get(0).get("tokens").asText(),
        buckets.get(1).get("tokens").asText()));
    for (JsonNode b : buckets) {
      assertEquals(2, b.get("texts").asInt());
      double mean = b.get("mean_tokens").asDouble();
      String label = b.get("tokens").asText();
      int upTo = Integer.parseInt(label.substring(label.indexOf('-') + 1));
      assertTrue(mean > upTo / 2.0 && mean <= upTo, b.toString());
      JsonNode rows = b.get("rows");
      assertEquals(5, rows.size()); // plain session, exits 2, 4, 6, deep on the plain session's batches
      assertEquals(1.0, rows.get(0).get("vs_reference").asDouble(), 1e-9);
      for (JsonNode row : rows) {
        assertEquals(mean, row.get("tokens_per_s").asDouble() / row.get("texts_per_s").asDouble(), 1e-6);
        assertTrue(row.get("peak_rss_mib").asLong() > 100, row.toString());
      }
    }
    assertTrue(longTexts.get("rounds").asInt() == 1 && r.out().contains("## Long texts"), r.out());
    String md = Files.readString(out.resolve("report.md"));
    assertTrue(md.contains("| tokens (mean) | texts | plain ORT texts/s | tokens/s | engine deep | deep, ORT's batches "
        + "| exit 4 | exit 2 | peak RSS MiB |"), md);
    double deep = buckets.get(1).get("rows").get(3).get("texts_per_s").asDouble();
    double ratio = buckets.get(1).get("rows").get(3).get("vs_reference").asDouble();
    assertTrue(md.contains(String.format(Locale.ROOT, "| %.1f (%.2f) |", deep, ratio)), md);
  }

  @Test
  void reportRefusesALongBucketPastTheMaximumLengthBeforeItStarts() {
    Run r = run("report", "--out", tmp.resolve("report").toString(), "--long-lengths", "256,512");
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("raise it with --long-max-length"), r.err());
    assertFalse(Files.exists(tmp.resolve("report")));
  }

  private Path texts() throws Exception {
    return Files.writeString(tmp.resolve("texts.txt"), """
        A man is playing the guitar on the street.
        The committee adopted the report without a vote after a short debate.
        A cat sits on the mat by the door.
        Members asked the Commission to publish its assessment of the new rules before the summer, so that the \
        Parliament can examine it in detail and propose amendments where necessary.
        The vote will take place tomorrow at noon.
        We cannot accept that the budget for research is cut again while the Council asks for more innovation \
        and growth, and I call on my colleagues to reject this proposal firmly.
        Fishermen in the north have waited three years for the new quotas, and the Commission still cannot tell \
        them when the rules will apply.
        """);
  }

  @Test
  void blocksNeuronsPrintsTheSparsityOfEveryLayersMlp() throws Exception {
    Run r = run("blocks", "--neurons", "--corpus", texts().toString(), "--json");
    assertEquals(0, r.exit(), r.err());
    String[] lines = r.out().strip().split("\n");
    JsonNode layers = JSON.readTree(lines[lines.length - 1]).get("layers");
    assertEquals(6, layers.size());
    for (JsonNode l : layers) {
      assertEquals(1536, l.get("neurons").asInt());
      double[] share = {l.get("corpus_share").get(0).asDouble(), l.get("corpus_share").get(2).asDouble()};
      assertTrue(share[0] > 0 && share[0] <= share[1] && share[1] <= 1, l.toString());
      // A sentence's own top half holds at least as much of its mass as any fixed half does.
      assertTrue(l.get("own_half_mass").asDouble() >= l.get("static_half_mass").asDouble() - 1e-9, l.toString());
    }
  }

  @Test
  void benchByLengthPutsEachTextInItsBucketAndComparesWithThePlainSession() throws Exception {
    Run r = run("bench", "--dataset", texts().toString(), "--lengths", "16,64", "--texts-per-bucket", "3",
        "--rounds", "1", "--json");
    assertEquals(0, r.exit(), r.err());
    String[] lines = r.out().strip().split("\n");
    JsonNode json = JSON.readTree(lines[lines.length - 1]);
    JsonNode buckets = json.get("buckets");
    assertEquals(2, buckets.size());
    assertEquals("9-16", buckets.get(0).get("tokens").asText());
    assertEquals(3, buckets.get(0).get("texts").asInt()); // 3 of the 4 texts of 9-16 tokens
    assertEquals(3, buckets.get(1).get("texts").asInt());
    for (JsonNode b : buckets) {
      JsonNode rows = b.get("rows");
      assertEquals(5, rows.size()); // reference, exits 2, 4, 6, deep on the reference's batches
      assertEquals(1.0, rows.get(0).get("vs_reference").asDouble(), 1e-9);
      for (JsonNode row : rows) {
        double perText = row.get("tokens_per_s").asDouble() / row.get("texts_per_s").asDouble();
        assertEquals(b.get("mean_tokens").asDouble(), perText, 1e-6);
        assertTrue(row.get("peak_rss_mib").asLong() > 100, row.toString());
      }
    }
  }

  @Test
  void benchRefusesABucketLongerThanTheModelTruncatesAt() {
    Run r = run("bench", "--lengths", "512");
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("raise it with --max-length"), r.err());
  }

  @Test
  void pruneMeasuresFidelityAgainstTheUnprunedDeepExit() throws Exception {
    Path same = Files.writeString(tmp.resolve("same.json"),
        "{\"name\": \"keep-all\", \"model\": \"all-minilm-l6-v2\", \"keep_ratios\": [1.0, 1.0]}");
    Path half = Files.writeString(tmp.resolve("half.json"),
        "{\"name\": \"keep50\", \"model\": \"all-minilm-l6-v2\", \"keep_ratios\": [0.5, 1.0]}");
    Run r = run("prune", same.toString(), half.toString(), "--dataset", texts().toString(), "--lengths", "64",
        "--rounds", "1", "--json");
    assertEquals(0, r.exit(), r.err());
    String[] lines = r.out().strip().split("\n");
    JsonNode rows = JSON.readTree(lines[lines.length - 1]).get("buckets").get(0).get("rows");
    assertEquals(List.of("keep-all", "keep50"), List.of(rows.get(0).get("plan").asText(), rows.get(1).get("plan").asText()));
    assertEquals(1.0, rows.get(0).get("mean_cosine").asDouble(), 1e-5);
    assertEquals(1.0, rows.get(0).get("top10_overlap").asDouble(), 1e-9);
    JsonNode pruned = rows.get(1);
    assertTrue(pruned.get("mean_cosine").asDouble() < 0.999, pruned.toString());
    assertTrue(pruned.get("p5_cosine").asDouble() <= pruned.get("mean_cosine").asDouble(), pruned.toString());
    assertTrue(pruned.get("mean_tokens_at_deep").asDouble() < rows.get(0).get("mean_tokens_at_deep").asDouble(), pruned.toString());
    assertTrue(r.out().contains("| keep50 | 2, 4, 6 | 0.50, 1.00 |"), r.out());
  }
}
