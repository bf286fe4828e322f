package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;
import java.time.Duration;

/**
 * The runtime's admission queue has no room for the whole request: none of it was started. {@link #retryAfter()} is the
 * time the queue needs to drain at the measured service rate.
 */
public final class Overloaded extends ExitflowException {
  private final Duration retryAfter;

  /** A request of {@code inputs} inputs found this queue and this many in flight. */
  public Overloaded(int inputs, int queued, int capacity, int inFlight, int maxInFlight, Duration retryAfter) {
    super("overloaded", "Exitflow is overloaded: this request's " + inputs + " input(s) do not fit, as the first "
        + "stage's queue holds " + queued + " of " + capacity + " and " + inFlight + " of at most " + maxInFlight
        + " inputs are in flight; retry after " + retryAfter.toMillis() + " ms", null);
    this.retryAfter = retryAfter;
  }

  public Duration retryAfter() {
    return retryAfter;
  }
}
