package dev.exitflow.research;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The research jar's commands, run in-process as the launcher runs them, against the real built-in model. */
class ResearchCommandLineTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = ResearchMain.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return new Run(cli.execute(args), out.toString(), err.toString());
  }

  @Test
  void everyCommandTakesHelpAndAgreesWithTheHelpCommand() {
    List<String> commands = ResearchMain.commandLine().getSubcommands().keySet().stream().toList();
    assertTrue(commands.containsAll(List.of("report", "blocks", "bench")), commands.toString());
    for (String command : commands) {
      for (String flag : List.of("--help", "-h")) {
        Run r = run(command, flag);
        assertEquals(0, r.exit(), command + " " + flag + ": " + r.err());
        assertTrue(r.out().contains("Usage: exitflow " + command), command + " " + flag + ": " + r.out());
      }
      if (!command.equals("help")) {
        assertEquals(run(command, "--help").out(), run("help", command).out(), "help " + command + " and --help agree");
      }
    }
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
        "--speed-sentences", "4", "--rounds", "1");
    assertEquals(0, r.exit(), r.err());
    String md = Files.readString(out.resolve("report.md"));
    assertTrue(md.contains("| int8-drop | int8 | 6 | none | — | 5a |"), md);
    JsonNode json = JSON.readTree(out.resolve("report.json").toFile());
    assertEquals(6, json.get("rows").size());
    assertEquals("fp32", json.get("baseline").get("plan").asText());
    assertEquals(1.0, json.get("rows").get(2).get("vs_baseline").asDouble(), 1e-9);
    assertTrue(Files.size(out.resolve("pareto.png")) > 1000);
  }
}
