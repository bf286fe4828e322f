package dev.exitflow.model.plan;

import dev.exitflow.model.ExitflowException;

/** A plan that cannot be used: unreadable, malformed, or not fitting its model. */
public final class PlanFormatException extends ExitflowException {
  public PlanFormatException(String message, Throwable cause) {
    super("bad_plan", message, cause);
  }

  public PlanFormatException(String message) {
    this(message, null);
  }
}
