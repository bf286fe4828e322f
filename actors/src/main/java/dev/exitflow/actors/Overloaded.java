package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;
import java.time.Duration;

/**
 * The runtime cannot take the whole request now: its admission queue has no room, or (for
 * {@code auto}) the queue ahead would make it miss its deadline. None of it was started.
 * {@link #retryAfter()} is the expected time until it would fit (or, past its deadline, until the
 * queue ahead has shrunk enough), from the measured rates.
 */
public final class Overloaded extends ExitflowException {
  private final Duration retryAfter;

  /** A request of {@code inputs} inputs found this queue and this many in flight. */
  public Overloaded(int inputs, int queued, int capacity, int inFlight, int maxInFlight, Duration retryAfter) {
    this("Exitflow is overloaded: this request's " + inputs + " input(s) do not fit, as the first "
        + "stage's queue holds " + queued + " of " + capacity + " and " + inFlight + " of at most " + maxInFlight
        + " inputs are in flight; retry after " + retryAfter.toMillis() + " ms", retryAfter);
  }

  private Overloaded(String message, Duration retryAfter) {
    super("overloaded", message, null);
    this.retryAfter = retryAfter;
  }

  /** An {@code auto} request refused because it would finish, even at its shallowest allowed exit, past its deadline. */
  static Overloaded pastDeadline(int layer, long predictedMs, long waitedMs, long deadlineMs, Duration retryAfter) {
    String waited = waitedMs > 0 ? " (it has already waited " + waitedMs + " ms)" : "";
    return new Overloaded("Exitflow is overloaded: even at exit " + layer + ", the shallowest this request may "
        + "take, the queue ahead of it would finish it in about " + predictedMs + " ms, past its deadline of "
        + deadlineMs + " ms" + waited + "; retry after " + retryAfter.toMillis() + " ms", retryAfter);
  }

  public Duration retryAfter() {
    return retryAfter;
  }
}
