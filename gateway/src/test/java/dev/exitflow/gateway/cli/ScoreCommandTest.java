package dev.exitflow.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** exitflow score: plain and JSON lines, in order, and a rerun resumes after the last line written. */
class ScoreCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void scoresInOrderAndResumesAfterAnInterruption() throws Exception {
    Path in = tmp.resolve("in.txt");
    List<String> lines = new ArrayList<>();
    for (int i = 1; i <= 300; i++) {
      lines.add(i % 3 == 0 ? "{\"id\": \"j" + i + "\", \"input\": \"json line " + i + "\", \"exit\": \"4\"}" : "plain line " + i);
    }
    Files.write(in, lines);
    Path out = tmp.resolve("out.ndjson");
    String[] args = {"score", "--in", in.toString(), "--out", out.toString(), "--exit", "shallow", "--dimensions", "8"};
    assertEquals(0, Main.commandLine().execute(args));
    List<String> full = Files.readAllLines(out);
    check(full);

    // Interrupted run: 120 complete lines and half of the next one.
    String partial = String.join("\n", full.subList(0, 120)) + "\n" + full.get(120).substring(0, 30);
    Files.writeString(out, partial);
    assertEquals(120, ScoreCommand.lastLineWritten(out));
    assertEquals(0, Main.commandLine().execute(args));
    List<String> resumed = Files.readAllLines(out);
    check(resumed);
    JsonNode before = JSON.readTree(full.get(299)).get("embedding");
    JsonNode after = JSON.readTree(resumed.get(299)).get("embedding");
    for (int d = 0; d < 8; d++) {
      assertEquals(before.get(d).asDouble(), after.get(d).asDouble(), 1e-5, "the same result for the same line");
    }
  }

  private static void check(List<String> out) throws Exception {
    assertEquals(300, out.size());
    for (int i = 0; i < 300; i++) {
      JsonNode n = JSON.readTree(out.get(i));
      int line = i + 1;
      assertEquals(line, n.get("line").asInt());
      assertEquals(8, n.get("embedding").size());
      assertEquals(line % 3 == 0 ? 4 : 2, n.get("exit_layer").asInt());
    }
  }
}
