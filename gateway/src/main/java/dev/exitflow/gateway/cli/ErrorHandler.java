package dev.exitflow.gateway.cli;

import dev.exitflow.streams.data.DirectoryLock;
import dev.exitflow.model.ExitflowException;
import picocli.CommandLine;
import java.io.PrintWriter;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine.ParseResult;

/**
 * Prints Exitflow's own errors as one line naming the problem (exit code 2) instead of a stack
 * trace; anything unexpected keeps its trace.
 */
final class ErrorHandler implements IExecutionExceptionHandler {
  static final int INVALID = 2;

  /**
   * A command-line mistake (unknown option, missing parameter, bad value): the message, picocli's
   * suggestions for a misspelt option, and which {@code --help} to read, instead of the whole usage.
   */
  static int usageError(ParameterException e, String[] args) {
    CommandLine cli = e.getCommandLine();
    PrintWriter err = cli.getErr();
    err.println("error: " + e.getMessage());
    UnmatchedArgumentException.printSuggestions(e, err);
    err.println("See './" + cli.getCommandSpec().qualifiedName() + " --help'.");
    err.flush();
    return cli.getCommandSpec().exitCodeOnInvalidInput();
  }

  @Override
  public int handleExecutionException(Exception e, CommandLine cli, ParseResult parsed) throws Exception {
    if (e instanceof ExitflowException x) {
      cli.getErr().println("error [" + x.code() + "]: " + x.getMessage());
      return INVALID;
    }
    if (e instanceof DirectoryLock.DirectoryInUse) {
      cli.getErr().println("error: " + e.getMessage());
      return 1;
    }
    if (e instanceof IllegalArgumentException) {
      cli.getErr().println("error: " + e.getMessage());
      return INVALID;
    }
    throw e;
  }
}
