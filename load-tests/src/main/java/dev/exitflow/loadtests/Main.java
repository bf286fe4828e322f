package dev.exitflow.loadtests;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code load-tests/run}: benchmarks of the actor runtime, each printing a table and, with --json, JSON last. */
@Command(name = "load-tests/run", mixinStandardHelpOptions = true,
    subcommands = {SaturationCommand.class, OverloadCommand.class, BatchLoadCommand.class, KafkaCommand.class, ClusterCommand.class,
        OverheadCommand.class, LongLoadCommand.class,
        GatewayLoadCommand.class,
        CommandLine.HelpCommand.class},
    footer = "Also: http [--json] [--seconds N] [--users N] and websocket [...]: Gatling against exitflow serve.")
public final class Main {
  public static void main(String[] args) {
    // `http` and `websocket` are one command with the mode as its first parameter.
    if (args.length > 0 && (args[0].equals("http") || args[0].equals("websocket"))) {
      String[] rest = new String[args.length + 1];
      rest[0] = "gateway";
      System.arraycopy(args, 0, rest, 1, args.length);
      args = rest;
    }
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
