package dev.exitflow.gateway.batch;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * What a batch line's body goes through: the same code as {@code POST /v1/embeddings} (with bulk
 * priority), so a line's result equals the HTTP answer to the same body, errors included.
 */
@FunctionalInterface
public interface LineEmbedder {
  /**
   * The HTTP answer: status, body (its JSON bytes, written to the output as they are: an embedding's
   * floats are not parsed and printed again), and for 429 and 503 how long to wait before sending it again.
   */
  record Answer(int status, byte[] body, Duration retryAfter) {
    /** Overload and transient unavailability: the runner waits and submits the line again. */
    boolean transientFailure() {
      return status == 429 || status == 503;
    }
  }

  CompletionStage<Answer> embed(byte[] body);
}
