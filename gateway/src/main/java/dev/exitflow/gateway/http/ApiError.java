package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.Overloaded;
import dev.exitflow.model.Failures;
import dev.exitflow.streams.request.ErrorCode;
import dev.exitflow.streams.request.InvalidRequest;
import java.time.Duration;

/**
 * An error as the API reports it, in OpenAI's shape {@code {"error": {"message", "type", "param",
 * "code"}}}: its {@link ErrorCode} (which fixes the HTTP status and type, the same for every
 * transport), the message, the field at fault, and for 429 and 503 how long to wait (Retry-After).
 */
public record ApiError(ErrorCode error, String message, String param, Duration retryAfter) {
  public static ApiError of(ErrorCode code, String message) {
    return new ApiError(code, message, null, retryAfter(code, null));
  }

  public static ApiError notFound(String path) {
    return of(ErrorCode.NOT_FOUND, "no route for " + path);
  }

  public static ApiError unauthorized() {
    return of(ErrorCode.INVALID_API_KEY, "missing or wrong API key: send Authorization: Bearer <key>");
  }

  public static ApiError notReady() {
    return of(ErrorCode.NOT_READY, "the model is still loading; retry shortly");
  }

  /** Maps any failure of a request to its API error. */
  public static ApiError of(Throwable t) {
    Throwable e = Failures.unwrap(t);
    if (e instanceof ApiException a) {
      return a.error();
    }
    if (e instanceof dev.exitflow.gateway.batch.BatchException b) {
      return of(b.code(), b.getMessage());
    }
    ErrorCode code = ErrorCode.of(e);
    String param = e instanceof InvalidRequest r ? r.param() : null;
    String message = code == ErrorCode.TIMEOUT ? "no answer in time: " + e.getMessage() : String.valueOf(e.getMessage());
    return new ApiError(code, message, param, retryAfter(code, e));
  }

  /** Overload says when its queue will have drained; other transient errors: a second. */
  private static Duration retryAfter(ErrorCode code, Throwable e) {
    if (e instanceof Overloaded o) {
      return o.retryAfter();
    }
    return code.status() == 429 || code.status() == 503 ? Duration.ofSeconds(1) : null;
  }

  public int status() {
    return error.status();
  }

  public String code() {
    return error.code();
  }

  /** The {@code error} object alone: what a WebSocket error frame and a bulk error line carry. */
  public ObjectNode errorObject() {
    ObjectNode o = HttpJson.object().put("message", message).put("type", error.type());
    o.put("param", param);
    return o.put("code", error.code());
  }

  public ObjectNode body() {
    ObjectNode out = HttpJson.object();
    out.set("error", errorObject());
    return out;
  }

  /** Retry-After in whole seconds, rounded up, at least 1. */
  public long retryAfterSeconds() {
    return Math.max(1, (retryAfter.toMillis() + 999) / 1000);
  }

  /** Carries an ApiError through futures and parsing code. */
  public static final class ApiException extends RuntimeException {
    private final ApiError error;

    public ApiException(ApiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }

    public ApiError error() {
      return error;
    }
  }

  public ApiException exception() {
    return new ApiException(this);
  }
}
