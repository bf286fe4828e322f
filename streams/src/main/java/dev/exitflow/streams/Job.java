package dev.exitflow.streams;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.model.ExitflowException;
import dev.exitflow.model.tokenize.TextWindows;

/**
 * One element entering the inference flow: a request with the caller's context (a Kafka offset,
 * a WebSocket frame id, a bulk line number), or, when the input could not even be decoded, the
 * error that says why, so it flows on in its place instead of failing the stream. {@code windows}
 * are the text's in chunk mode (see {@link Chunking}), null in truncate mode.
 */
public record Job<C>(C context, EmbeddingRequest request, TextWindows windows, ExitflowException invalid) {
  public static <C> Job<C> of(C context, EmbeddingRequest request) {
    return new Job<>(context, request, null, null);
  }

  public static <C> Job<C> of(C context, EmbeddingRequest request, TextWindows windows) {
    return new Job<>(context, request, windows, null);
  }

  public static <C> Job<C> invalid(C context, ExitflowException error) {
    return new Job<>(context, null, null, error);
  }
}
