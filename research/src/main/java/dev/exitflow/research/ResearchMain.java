package dev.exitflow.research;

import dev.exitflow.gateway.cli.Main;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The research jar's {@code exitflow} command line: the experiments and benchmarks that the
 * serving jar does not carry (nor their dependencies, langchain4j and XChart). The launcher runs
 * it for {@code ./exitflow report|blocks|bench|prune}.
 */
@Command(
    name = "exitflow",
    mixinStandardHelpOptions = true,
    version = "exitflow 0.1.0",
    description = "Exitflow's research commands: plan reports, block similarity, benchmarks against peers, pruning on long texts.",
    subcommands = {ReportCommand.class, BlocksCommand.class, BenchCommand.class, PruneCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Serving and everything else: './exitflow --help'."})
public final class ResearchMain {
  public static void main(String[] args) {
    Main.run(new ResearchMain(), args);
  }

  /** The configured command line; tests execute it in-process. */
  static CommandLine commandLine() {
    return Main.commandLine(new ResearchMain());
  }
}
