package dev.exitflow.actors;

import dev.exitflow.model.ExitflowException;

/** The batch this request was in failed inside ONNX Runtime; the worker has been restarted. */
public final class InferenceFailed extends ExitflowException {
  public InferenceFailed(int stage, Throwable cause) {
    super("inference_failed", "inference failed in stage " + (stage + 1) + ": " + cause.getMessage(), cause);
  }
}
