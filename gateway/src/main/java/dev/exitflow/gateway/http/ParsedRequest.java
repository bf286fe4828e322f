package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of an embedding request body, shared by the OpenAI-compatible and the native API:
 * {@code input} (a string or an array of strings), {@code model}, {@code dimensions},
 * {@code encoding_format}, and Exitflow's own {@code exit}, {@code deadline_ms}, {@code priority}.
 */
record ParsedRequest(List<String> inputs, String model, ExitPolicy exit, Long deadlineMs, Priority priority,
    Integer dimensions, boolean base64) {

  List<EmbeddingRequest> requests() {
    return inputs.stream().map(t -> new EmbeddingRequest(t, exit, deadlineMs, priority, dimensions)).toList();
  }

  /** Parses and checks the body; throws {@link ApiError.ApiException} naming the problem. */
  static ParsedRequest parse(JsonNode body, GatewaySettings limits, Priority defaultPriority) {
    if (body == null || !body.isObject()) {
      throw ApiError.badRequest("invalid_json", "the body must be a JSON object").exception();
    }
    List<String> inputs = inputs(body.get("input"), limits);
    String encoding = text(body, "encoding_format", "float");
    if (!encoding.equals("float") && !encoding.equals("base64")) {
      throw ApiError.invalidOption("unsupported_encoding",
          "encoding_format '" + encoding + "' is not 'float' or 'base64'").exception();
    }
    JsonNode dims = body.get("dimensions");
    if (dims != null && !dims.isNull() && !dims.canConvertToInt()) {
      throw ApiError.badRequest("invalid_dimensions", "dimensions must be an integer").exception();
    }
    JsonNode deadline = body.get("deadline_ms");
    if (deadline != null && !deadline.isNull() && !deadline.canConvertToLong()) {
      throw ApiError.badRequest("invalid_deadline", "deadline_ms must be an integer").exception();
    }
    JsonNode exit = body.get("exit");
    return new ParsedRequest(
        inputs,
        body.hasNonNull("model") ? body.get("model").asText() : null,
        exit == null || exit.isNull() ? ExitPolicy.Deep.INSTANCE : ExitPolicy.parse(exit.asText()),
        deadline == null || deadline.isNull() ? null : deadline.asLong(),
        body.hasNonNull("priority") ? Priority.parse(body.get("priority").asText()) : defaultPriority,
        dims == null || dims.isNull() ? null : dims.asInt(),
        encoding.equals("base64"));
  }

  private static List<String> inputs(JsonNode input, GatewaySettings limits) {
    List<String> out = new ArrayList<>();
    if (input == null || input.isNull()) {
      throw ApiError.badRequest("missing_input", "'input' is required: a string or an array of strings").exception();
    }
    if (input.isTextual()) {
      out.add(input.asText());
    } else if (input.isArray()) {
      if (input.isEmpty()) {
        throw ApiError.badRequest("missing_input", "'input' is an empty array").exception();
      }
      for (JsonNode item : input) {
        if (!item.isTextual()) {
          throw ApiError.badRequest("unsupported_input",
              "'input' must hold strings; arrays of token ids are not supported").exception();
        }
        out.add(item.asText());
      }
    } else {
      throw ApiError.badRequest("unsupported_input", "'input' must be a string or an array of strings").exception();
    }
    if (out.size() > limits.maxInputs()) {
      throw ApiError.tooLarge("too_many_inputs",
          out.size() + " inputs in one request; the limit is " + limits.maxInputs()).exception();
    }
    for (int i = 0; i < out.size(); i++) {
      if (out.get(i).length() > limits.maxInputChars()) {
        throw ApiError.tooLarge("input_too_long", "input " + i + " has " + out.get(i).length()
            + " characters; the limit is " + limits.maxInputChars()).exception();
      }
    }
    return out;
  }

  private static String text(JsonNode body, String field, String otherwise) {
    return body.hasNonNull(field) ? body.get(field).asText() : otherwise;
  }
}
