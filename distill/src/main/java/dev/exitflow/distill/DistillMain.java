package dev.exitflow.distill;

import dev.exitflow.gateway.cli.Main;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The distill jar's {@code exitflow} command line: training exit branches needs libtorch (DJL's
 * PyTorch engine, about 450 MB unpacked), which neither the serving jar nor the research jar
 * carries. The launcher runs it for {@code ./exitflow distill}.
 */
@Command(
    name = "exitflow",
    mixinStandardHelpOptions = true,
    version = "exitflow 0.1.0",
    description = "Exitflow's training commands: distilled exit branches.",
    subcommands = {DistillCommand.class, CommandLine.HelpCommand.class},
    footer = {"", "Serving and everything else: './exitflow --help'."})
public final class DistillMain {
  public static void main(String[] args) {
    Main.run(new DistillMain(), args);
  }

  /** The configured command line; tests execute it in-process. */
  static CommandLine commandLine() {
    return Main.commandLine(new DistillMain());
  }
}
