package dev.exitflow.loadtests;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code load-tests/run}: benchmarks of the actor runtime, each printing a table and, with --json, JSON last. */
@Command(name = "load-tests/run", mixinStandardHelpOptions = true,
    subcommands = {SaturationCommand.class, OverloadCommand.class, KafkaCommand.class, CommandLine.HelpCommand.class})
public final class Main {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
