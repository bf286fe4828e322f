package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;

/**
 * The worker running this request's batch went away (its node left the cluster or crashed) and
 * the request had already been re-queued as often as {@code exitflow.actors.lost-batch-retries}
 * allows. Nothing is wrong with the request: sending it again is safe.
 */
public final class WorkerLost extends ExitflowException {
  public WorkerLost(int stage, String what, int retries) {
    super("worker_lost", "the stage " + (stage + 1) + " worker running this request was lost (" + what + ")"
        + (retries > 0 ? " after " + retries + " retr" + (retries == 1 ? "y" : "ies") + " on other workers" : ""), null);
  }
}
