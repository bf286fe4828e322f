package dev.exitflow.streams.request;

import com.fasterxml.jackson.databind.JsonNode;
import dev.exitflow.model.InvalidInputException;

/**
 * A request that cannot be decoded or served as asked, with its {@link ErrorCode}, the field at
 * fault ({@code param}, OpenAI's name for it; null when none is) and the request's {@code id} when
 * it had a valid one, so stream transports can answer it with that id.
 */
public final class InvalidRequest extends InvalidInputException {
  private final ErrorCode errorCode;
  private final String param;
  private final JsonNode id;

  public InvalidRequest(ErrorCode code, String param, String message) {
    this(code, param, message, null);
  }

  private InvalidRequest(ErrorCode code, String param, String message, JsonNode id) {
    super(code.code(), message);
    this.errorCode = code;
    this.param = param;
    this.id = id;
  }

  public ErrorCode errorCode() {
    return errorCode;
  }

  public String param() {
    return param;
  }

  public JsonNode id() {
    return id;
  }

  InvalidRequest withId(JsonNode requestId) {
    return new InvalidRequest(errorCode, param, getMessage(), requestId);
  }
}
