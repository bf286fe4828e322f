package dev.exitflow.streams.request;

import com.fasterxml.jackson.databind.JsonNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.model.tokenize.TextWindows;
import java.util.List;

/**
 * A request as every transport decodes it (see {@link RequestDecoder}): its {@code id} (a string or
 * integer node, or null), the texts, and the options with the transport's defaults filled in.
 * {@code model} is null when the request names none; {@code user} is accepted for OpenAI's sake
 * and otherwise unused. {@code windows} is null unless {@code long_text} is chunk; then it holds each
 * input's windows, in input order.
 */
public record DecodedRequest(JsonNode id, List<String> inputs, String model, ExitPolicy exit, Long deadlineMs,
    Priority priority, Integer dimensions, boolean base64, boolean upgrade, String user, Double minFidelity,
    List<TextWindows> windows) {

  /** One runtime request per input. */
  public List<EmbeddingRequest> requests() {
    return inputs.stream().map(t -> new EmbeddingRequest(t, exit, deadlineMs, priority, dimensions, minFidelity)).toList();
  }

  /** The runtime request of a single-input transport (frame, line, record). */
  public EmbeddingRequest request() {
    return new EmbeddingRequest(inputs.get(0), exit, deadlineMs, priority, dimensions, minFidelity);
  }

  /** The windows of a single-input transport's text in chunk mode; null in truncate mode. */
  public TextWindows window() {
    return windows == null ? null : windows.get(0);
  }
}
