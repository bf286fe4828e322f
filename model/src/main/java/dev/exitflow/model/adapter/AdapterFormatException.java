package dev.exitflow.model.adapter;

import dev.exitflow.model.ExitflowException;

/** An adapter file that cannot be used: unreadable, of another format version, or for another model or exit. */
public final class AdapterFormatException extends ExitflowException {
  public AdapterFormatException(String message, Throwable cause) {
    super("bad_adapter", message, cause);
  }

  public AdapterFormatException(String message) {
    this(message, null);
  }
}
