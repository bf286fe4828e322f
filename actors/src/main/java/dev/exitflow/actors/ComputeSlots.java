package dev.exitflow.actors;

import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;

/**
 * The compute slots of one cluster node: at most {@code exitflow.actors.busy-workers-per-node} of
 * its stage workers run a batch at once, whichever gateway sent them. A gateway sends a worker node
 * more batches than that ({@code batches-ahead-per-node}), so the next one waits here for a slot
 * instead of being sent only once the last result has crossed the network; first come, first run.
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

  static ComputeSlots unlimited() {
    return new ComputeSlots(null);
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
