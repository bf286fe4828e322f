package dev.exitflow.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.cli.InProcessCli.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The commands, run in-process as the launcher runs them, against the real built-in model. */
class CommandLineTest {
  private static final String CACHE_DIR = "exitflow.model.cache-dir";

  @TempDir Path tmp;

  private static Run run(String... args) {
    return InProcessCli.run(Main::commandLine, args);
  }

  @Test
  void embedPrintsTheEmbeddingAsJson() throws Exception {
    Run r = run("embed", "A man is playing a flute.", "--exit", "shallow", "--dimensions", "32");
    assertEquals(0, r.exit(), r.err());
    JsonNode json = r.lastJson();
    assertEquals("all-minilm-l6-v2", json.get("model").asText());
    assertEquals(2, json.get("exit_layer").asInt());
    assertEquals(32, json.get("embedding").size());
    assertEquals(9, json.get("tokens").asInt());
  }

  @Test
  void everyCommandTakesHelpAndAgreesWithTheHelpCommand() {
    InProcessCli.assertEveryCommandTakesHelp(Main::commandLine,
        List.of("serve", "embed", "score", "batch", "eval", "calibrate", "produce", "consume"));
    assertTrue(run("embed", "--help").out().contains("(default: deep)"), "defaults are listed");
    String help = run("--help").out();
    assertTrue(help.contains("report") && help.contains("./exitflow report --help"), "the research commands are named: " + help);
    String calibrate = run("calibrate", "--help").out().replaceAll("\\s+", " "); // descriptions wrap
    assertTrue(calibrate.contains("(0: do not time; default: 512)"), calibrate);
  }

  @Test
  void commandLineMistakesNameTheCommandsHelp() {
    Run unknown = run("eval", "--no-such-option");
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("Unknown option: '--no-such-option'")
        && unknown.err().contains("See './exitflow eval --help'."), unknown.err());
    Run missing = run("embed");
    assertEquals(2, missing.exit());
    assertTrue(missing.err().contains("Missing required parameter: 'TEXT'")
        && missing.err().contains("See './exitflow embed --help'."), missing.err());
  }

  @Test
  void aBadDescriptorIsRefusedNamingTheFieldAndType() throws Exception {
    Files.writeString(tmp.resolve("exitflow-model.json"),
        "{\"onnx\": \"model.onnx\", \"tokenizer\": \"tokenizer.json\", \"exit_layers\": \"4,8,12\"}");
    Run r = run("embed", "text", "--model", tmp.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("bad_descriptor") && r.err().contains("'exit_layers' must be an array of integers"),
        r.err());
  }

  @Test
  void badOptionsGiveAClearErrorAndExitCode() {
    Run exit = run("embed", "text", "--exit", "7");
    assertEquals(2, exit.exit());
    assertTrue(exit.err().contains("unknown_exit") && exit.err().contains("[2, 4, 6, shallow, deep]"), exit.err());

    Run empty = run("embed", "   ");
    assertEquals(2, empty.exit());
    assertTrue(empty.err().contains("empty_input"), empty.err());

    Run model = run("embed", "text", "--model", tmp.resolve("nowhere").toString());
    assertEquals(2, model.exit());
    assertTrue(model.err().contains("unknown_model"), model.err());
  }

  @Test
  void evalReportsEveryExitAsJsonLast() throws Exception {
    Path csv = tmp.resolve("mini.csv");
    Files.writeString(csv, """
        sentence1,sentence2,score
        A man is playing a guitar.,A man plays the guitar.,4.8
        A woman is slicing an onion.,A man is driving a car.,0.2
        A cat sits on the mat.,A cat is sitting on a mat.,4.6
        Kids play football in a park.,The stock market fell today.,0.0
        "A dog, brown and small, barks.",A small brown dog is barking.,4.4
        """);
    Run r = run("eval", "--dataset", csv.toString(), "--json");
    assertEquals(0, r.exit(), r.err());
    JsonNode json = r.lastJson();
    assertEquals(5, json.get("pairs").asInt());
    assertEquals(4, json.get("exits").size(), "the exits serve runs: the reserve exit at layer 1, then 2, 4, 6");
    assertEquals(1, json.get("exits").get(0).get("layer").asInt());
    JsonNode deep = json.get("exits").get(3);
    assertEquals(6, deep.get("layer").asInt());
    assertTrue(deep.get("spearman").asDouble() > 0.8, deep.toString()); // clear-cut pairs rank right
    assertTrue(deep.get("sentences_per_s").asDouble() > 0);
  }

  private static final String MINI_STS = """
      sentence1,sentence2,score
      A man is playing a guitar.,A man plays the guitar.,4.8
      A woman is slicing an onion.,A man is driving a car.,0.2
      A cat sits on the mat.,A cat is sitting on a mat.,4.6
      Kids play football in a park.,The stock market fell today.,0.0
      """;

  @Test
  void evalRunsAPlanAndReportsIt() throws Exception {
    Path csv = Files.writeString(tmp.resolve("mini.csv"), MINI_STS);
    Path plan = Files.writeString(tmp.resolve("plan.json"), """
        {"name": "half", "model": "all-minilm-l6-v2-q", "adapters": false, "keep_ratios": [0.5, 1.0]}
        """);
    Run r = run("eval", "--plan", plan.toString(), "--dataset", csv.toString(), "--json");
    assertEquals(0, r.exit(), r.err());
    JsonNode json = r.lastJson();
    assertEquals("all-minilm-l6-v2-q", json.get("model").asText());
    assertEquals("int8", json.get("precision").asText());
    assertEquals("half", json.get("plan").get("name").asText());
    assertEquals(0.5, json.get("plan").get("keep_ratios").get(0).asDouble());
    JsonNode exits = json.get("exits");
    assertTrue(exits.get(0).get("adapter").isNull());
    assertEquals(exits.get(0).get("mean_tokens").asDouble(), exits.get(0).get("mean_tokens_at_exit").asDouble());
    assertTrue(exits.get(1).get("mean_tokens_at_exit").asDouble() < exits.get(1).get("mean_tokens").asDouble());
  }

  @Test
  void calibrateSavesAdaptersThatEvalThenUsesAndReports() throws Exception {
    StringBuilder corpus = new StringBuilder();
    String[] who = {"A man", "A woman", "A child", "The dog", "Two people", "A chef", "The band", "An old man"};
    String[] what = {"is playing a guitar.", "is slicing an onion.", "runs in the park.", "is cooking dinner.",
        "is reading a book.", "rides a bicycle."};
    for (String w : who) {
      for (String x : what) {
        corpus.append(w).append(' ').append(x).append('\n');
      }
    }
    Path file = Files.writeString(tmp.resolve("corpus.txt"), corpus);
    // A cache of its own: the adapters it saves never reach the shared test cache, whose model other
    // tests (StsEvaluatorTest among them) expect without adapters, even if this test dies half-way.
    String shared = System.getProperty(CACHE_DIR);
    Path cache = tmp.resolve("cache");
    System.setProperty(CACHE_DIR, cache.toString());
    ConfigFactory.invalidateCaches();
    try {
      Run r = run("calibrate", "--corpus", file.toString());
      assertEquals(0, r.exit(), r.err());
      List<String> rows = r.out().lines().filter(l -> l.endsWith(".adapter")).toList();
      assertEquals(3, rows.size(), r.out()); // the reserve exit's (layer 1), exit 2's and exit 4's
      Path exit2 = Path.of(rows.get(1).substring(rows.get(1).lastIndexOf(' ') + 1));
      assertTrue(Files.isRegularFile(exit2) && exit2.getFileName().toString().equals("exit-2.adapter"), r.out());
      assertTrue(exit2.toAbsolutePath().startsWith(cache.toAbsolutePath()), "saved in the test's own cache: " + exit2);

      Path csv = Files.writeString(tmp.resolve("mini.csv"), """
          sentence1,sentence2,score
          A man is playing a guitar.,A man plays the guitar.,4.8
          A woman is slicing an onion.,A man is driving a car.,0.2
          """);
      JsonNode exits = run("eval", "--dataset", csv.toString(), "--json").lastJson().get("exits");
      assertEquals("ridge", exits.get(0).get("adapter").get("kind").asText());
      assertEquals(46, exits.get(2).get("adapter").get("corpus_sentences").asInt()); // 48, of which 2 held out
      assertTrue(exits.get(3).get("adapter").isNull());
      JsonNode plain = run("eval", "--dataset", csv.toString(), "--json", "--no-adapters").lastJson().get("exits");
      assertTrue(plain.get(0).get("adapter").isNull());
    } finally {
      if (shared == null) {
        System.clearProperty(CACHE_DIR);
      } else {
        System.setProperty(CACHE_DIR, shared);
      }
      ConfigFactory.invalidateCaches();
    }
  }
}
