package dev.exitflow.model;

/**
 * Base of every error Exitflow reports on purpose. {@link #code()} is a stable, machine-readable
 * name for the problem (it becomes the {@code code} of an HTTP error body or a dead-letter header);
 * the message says what was wrong in words a caller can act on.
 */
public abstract class ExitflowException extends RuntimeException {
  private final String code;

  protected ExitflowException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
