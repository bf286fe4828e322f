package dev.exitflow.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine;

/**
 * A launcher's command line run in-process as the launcher runs it, with what it printed, and the
 * help checks every launcher must pass: for the serving jar's tests and the research jar's (which
 * get this class alone through the gateway's test jar).
 */
public final class InProcessCli {
  private static final ObjectMapper JSON = new ObjectMapper();

  private InProcessCli() {}

  /** An exit code and what the command printed. */
  public record Run(int exit, String out, String err) {
    /** The last line of the output, read as JSON (commands print their --json object last). */
    public JsonNode lastJson() throws Exception {
      List<String> lines = out.lines().toList();
      return JSON.readTree(lines.get(lines.size() - 1));
    }
  }

  /** Runs {@code args} on a fresh command line from {@code cli}. */
  public static Run run(Supplier<CommandLine> cli, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine c = cli.get();
    c.setOut(new PrintWriter(out, true));
    c.setErr(new PrintWriter(err, true));
    int code = c.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /**
   * The command line has at least the {@code expected} commands, and each takes {@code --help} and
   * {@code -h}, printing its usage as what {@code help COMMAND} prints.
   */
  public static void assertEveryCommandTakesHelp(Supplier<CommandLine> cli, List<String> expected) {
    List<String> commands = cli.get().getSubcommands().keySet().stream().toList();
    assertTrue(commands.containsAll(expected), commands.toString());
    for (String command : commands) {
      for (String flag : List.of("--help", "-h")) {
        Run r = run(cli, command, flag);
        assertEquals(0, r.exit(), command + " " + flag + ": " + r.err());
        assertTrue(r.out().contains("Usage: exitflow " + command), command + " " + flag + ": " + r.out());
      }
      if (!command.equals("help")) {
        assertEquals(run(cli, command, "--help").out(), run(cli, "help", command).out(),
            "help " + command + " and --help agree");
      }
    }
  }
}
