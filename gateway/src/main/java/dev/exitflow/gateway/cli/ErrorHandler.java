package dev.exitflow.gateway.cli;

import dev.exitflow.streams.data.DirectoryLock;
import dev.exitflow.model.ExitflowException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Prints Exitflow's own errors as one line naming the problem (exit code 2) instead of a stack
 * trace; anything unexpected keeps its trace.
 */
final class ErrorHandler implements IExecutionExceptionHandler {
  static final int INVALID = 2;

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
