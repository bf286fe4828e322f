package dev.exitflow.gateway.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code exitflow} command line of the serving jar. */
@Command(
    name = "exitflow",
    mixinStandardHelpOptions = true,
    version = "exitflow 0.1.0",
    description = "Streaming multi-exit inference for transformer encoders.",
    subcommands = {ServeCommand.class, EmbedCommand.class, ScoreCommand.class, BatchCommand.class, EvalCommand.class,
        CalibrateCommand.class, ProduceCommand.class, ConsumeCommand.class, CommandLine.HelpCommand.class},
    footer = {"",
        "Research commands (a jar of their own, which ./exitflow builds and runs too):",
        "  report  Quality and speed of every plan of a directory, with a Pareto chart.",
        "  blocks  How little each attention block, MLP block and layer changes.",
        "  bench   Sentences/s of every exit beside plain ONNX Runtime and langchain4j (per length with --lengths).",
        "  prune   Speed-up and fidelity of token-pruning plans on long texts.",
        "See './exitflow report --help' (or blocks, bench, prune)."})
public final class Main {
  public static void main(String[] args) {
    run(new Main(), args);
  }

  /**
   * Runs a command line whose root is {@code root} (this class, or the research jar's) as the
   * launcher does: Exitflow's signal handling first, its error handling, and the exit code.
   */
  public static void run(Object root, String[] args) {
    Signals.install(); // first: a signal in any later moment must find Exitflow's handler
    boolean serve = args.length > 0 && args[0].equals("serve");
    if (!serve) {
      Signals.onSignal(Signals::interrupt);
    }
    Signals.exit(commandLine(root).execute(args));
  }

  /** The configured command line; tests execute it in-process. */
  public static CommandLine commandLine() {
    return commandLine(new Main());
  }

  /** A command line rooted at {@code root}, with Exitflow's error handling. */
  public static CommandLine commandLine(Object root) {
    CommandLine cli = new CommandLine(root);
    cli.setExecutionExceptionHandler(new ErrorHandler());
    cli.setParameterExceptionHandler(ErrorHandler::usageError);
    return cli;
  }
}
