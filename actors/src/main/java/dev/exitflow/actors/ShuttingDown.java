package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;

/** The runtime is draining for shutdown and takes no new requests. */
public final class ShuttingDown extends ExitflowException {
  public ShuttingDown() {
    super("shutting_down", "Exitflow is shutting down and accepts no new requests", null);
  }
}
