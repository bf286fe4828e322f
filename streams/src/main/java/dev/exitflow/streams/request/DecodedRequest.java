package dev.exitflow.streams.request;

import com.fasterxml.jackson.databind.JsonNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import java.util.List;

/**
 * A request as every transport decodes it (see {@link RequestDecoder}): its {@code id} (a string or
 * integer node, or null), the texts, and the options with the transport's defaults filled in.
 * {@code model} is null when the request names none; {@code user} is accepted for OpenAI's sake
 * and otherwise unused.
 */
public record DecodedRequest(JsonNode id, List<String> inputs, String model, ExitPolicy exit, Long deadlineMs,
    Priority priority, Integer dimensions, boolean base64, boolean upgrade, String user, Double minFidelity) {

  /** One runtime request per input. */
  public List<EmbeddingRequest> requests() {
    return inputs.stream().map(t -> new EmbeddingRequest(t, exit, deadlineMs, priority, dimensions, minFidelity)).toList();
  }

  /** The runtime request of a single-input transport (frame, line, record). */
  public EmbeddingRequest request() {
    return new EmbeddingRequest(inputs.get(0), exit, deadlineMs, priority, dimensions, minFidelity);
  }
}
