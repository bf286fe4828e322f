package dev.exitflow.gateway.batch;

import dev.exitflow.streams.request.ErrorCode;

/** A file or batch request that cannot be accepted, with its code (404 unknown id, 400 otherwise). */
public final class BatchException extends RuntimeException {
  private final ErrorCode code;

  public BatchException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
