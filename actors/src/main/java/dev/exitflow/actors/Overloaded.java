package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;
import java.time.Duration;

/**
 * The runtime's admission queue is full: the request was not started. {@link #retryAfter()} is the
 * time the queue needs to drain at the measured service rate.
 */
public final class Overloaded extends ExitflowException {
  private final Duration retryAfter;

  public Overloaded(int queued, Duration retryAfter) {
    super("overloaded", "Exitflow is overloaded: " + queued + " requests are queued; retry after "
        + retryAfter.toMillis() + " ms", null);
    this.retryAfter = retryAfter;
  }

  public Duration retryAfter() {
    return retryAfter;
  }
}
