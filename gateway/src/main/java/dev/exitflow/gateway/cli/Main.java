package dev.exitflow.gateway.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code exitflow} command line. */
@Command(
    name = "exitflow",
    mixinStandardHelpOptions = true,
    version = "exitflow 0.1.0",
    description = "Streaming multi-exit inference for transformer encoders.",
    subcommands = {ServeCommand.class, EmbedCommand.class, ScoreCommand.class, BatchCommand.class, EvalCommand.class, ReportCommand.class, CalibrateCommand.class, BlocksCommand.class,
        BenchCommand.class, ProduceCommand.class, ConsumeCommand.class, CommandLine.HelpCommand.class})
public final class Main {
  public static void main(String[] args) {
    Signals.install(); // first: a signal in any later moment must find Exitflow's handler
    boolean serve = args.length > 0 && args[0].equals("serve");
    if (!serve) {
      Signals.onSignal(Signals::interrupt);
    }
    Signals.exit(commandLine().execute(args));
  }

  /** The configured command line; tests execute it in-process. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(new ErrorHandler());
    cli.setParameterExceptionHandler(ErrorHandler::usageError);
    return cli;
  }
}
