package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;

/**
 * The batch this request was in failed inside ONNX Runtime; the worker has been restarted. The
 * cause arrives as a message, since the worker may be on another node.
 */
public final class InferenceFailed extends ExitflowException {
  public InferenceFailed(int stage, String cause) {
    super("inference_failed", "inference failed in stage " + (stage + 1) + ": " + cause, null);
  }
}
