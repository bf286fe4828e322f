package dev.exitflow.actors;

/**
 * Hears what the scheduler does, as it does it: for metrics. Called on the scheduler's thread, so
 * implementations must be quick and thread-safe (Prometheus collectors are).
 */
public interface RuntimeListener {
  RuntimeListener NONE = new RuntimeListener() {};

  /** A batch of {@code size} requests, padded to {@code paddedTokens} tokens, ran at a stage (0-based). */
  default void onBatch(int stage, int size, int paddedTokens, long computeNanos) {}

  /** A request left at this exit layer, for this reason. */
  default void onExit(int exitLayer, ExitReason reason, Priority priority) {}

  /** A request of {@code inputs} inputs was refused as overloaded, all of them together. */
  default void onRejected(int inputs) {}

  /** A request failed (inference error, shutdown). */
  default void onFailed() {}
}
