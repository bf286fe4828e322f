package dev.exitflow.actors;

import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;

/**
 * The compute slots of one node (one process, or one cluster node): at most
 * {@code exitflow.actors.busy-workers-per-node} of its stage workers run a batch at once, whichever
 * scheduler sent them. A scheduler may send a node a full batch more than that
 * ({@code batches-ahead-per-node}), which waits here for a slot, first come first run, instead of
 * being sent only after the last batch's result has come back (across a network, milliseconds).
 */
final class ComputeSlots {
  /** Null: no limit. */
  private final Semaphore slots;

  private ComputeSlots(Semaphore slots) {
    this.slots = slots;
  }

  /** {@code busyPerNode} slots; none (no limit) when it is zero or less. */
  static ComputeSlots of(int busyPerNode) {
    return new ComputeSlots(busyPerNode > 0 ? new Semaphore(busyPerNode, true) : null);
  }

  /** Runs {@code work} once a slot is free, on the calling (blocking) thread. */
  <T> T run(Callable<T> work) throws Exception {
    if (slots == null) {
      return work.call();
    }
    slots.acquire();
    try {
      return work.call();
    } finally {
      slots.release();
    }
  }
}
