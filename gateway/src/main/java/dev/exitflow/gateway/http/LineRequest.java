package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.model.ExitflowException;

/**
 * One request of a stream: a WebSocket frame, a bulk NDJSON line, a line of a file to score.
 * JSON {@code {"id"?, "input", "exit"?, "deadline_ms"?, "dimensions"?, "priority"?, "upgrade"?}},
 * or, for lines, plain text taken whole as the input.
 */
public record LineRequest(JsonNode id, EmbeddingRequest request, boolean upgrade) {

  /** Defaults for fields a line leaves out. */
  public record Defaults(ExitPolicy exit, Integer dimensions, Priority priority) {}

  /** A line or frame that could not be decoded; {@code id} is kept when the JSON had one. */
  public static final class Invalid extends ExitflowException {
    private final JsonNode id;

    Invalid(JsonNode id, String code, String message) {
      super(code, message, null);
      this.id = id;
    }

    public JsonNode id() {
      return id;
    }
  }

  public static LineRequest decode(String line, boolean allowPlainText, Defaults defaults, int maxChars) {
    String trimmed = line.strip();
    if (!trimmed.startsWith("{")) {
      if (!allowPlainText) {
        throw new Invalid(null, "invalid_json", "a frame must be a JSON object with an 'input' field");
      }
      return new LineRequest(null, new EmbeddingRequest(check(null, trimmed, maxChars), defaults.exit(), null,
          defaults.priority(), defaults.dimensions()), false);
    }
    JsonNode n;
    try {
      n = Json.MAPPER.readTree(trimmed);
    } catch (Exception e) {
      throw new Invalid(null, "invalid_json", "not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    JsonNode id = n.get("id");
    JsonNode input = n.get("input");
    if (input == null || !input.isTextual()) {
      throw new Invalid(id, "missing_input", "'input' must be a string");
    }
    try {
      ExitPolicy exit = n.hasNonNull("exit") ? ExitPolicy.parse(n.get("exit").asText()) : defaults.exit();
      Long deadline = n.hasNonNull("deadline_ms") ? n.get("deadline_ms").asLong() : null;
      Integer dims = n.hasNonNull("dimensions") ? Integer.valueOf(n.get("dimensions").asInt()) : defaults.dimensions();
      Priority priority = n.hasNonNull("priority") ? Priority.parse(n.get("priority").asText()) : defaults.priority();
      boolean upgrade = n.path("upgrade").asBoolean(false);
      return new LineRequest(id, new EmbeddingRequest(check(id, input.asText(), maxChars), exit, deadline, priority, dims),
          upgrade);
    } catch (Invalid e) {
      throw e;
    } catch (ExitflowException e) {
      throw new Invalid(id, e.code(), e.getMessage());
    }
  }

  private static String check(JsonNode id, String text, int maxChars) {
    if (text.length() > maxChars) {
      throw new Invalid(id, "input_too_long", "input has " + text.length() + " characters; the limit is " + maxChars);
    }
    return text;
  }
}
