package dev.exitflow.gateway.http;

import dev.exitflow.actors.InferenceFailed;
import dev.exitflow.actors.NoWorkers;
import dev.exitflow.actors.WorkerLost;
import dev.exitflow.actors.Overloaded;
import dev.exitflow.actors.ShuttingDown;
import dev.exitflow.model.ExitflowException;
import dev.exitflow.model.InvalidInputException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

/**
 * An error as the API reports it, in OpenAI's shape {@code {"error": {"message", "type", "code"}}},
 * with its HTTP status. The one place where Exitflow's typed errors become statuses: 400 malformed,
 * 401 unauthenticated, 404 unknown route, 413 too large, 422 unknown model or invalid option,
 * 429 overloaded (with Retry-After), 503 not ready or shutting down.
 */
public record ApiError(int status, String type, String code, String message, Duration retryAfter) {
  /** Options that are well-formed JSON but not acceptable values: 422, not 400. */
  private static final Set<String> INVALID_OPTIONS =
      Set.of("unknown_exit", "dimensions_out_of_range", "unknown_priority", "bad_deadline", "unknown_model",
          "unsupported_encoding");

  public static ApiError badRequest(String code, String message) {
    return new ApiError(400, "invalid_request_error", code, message, null);
  }

  public static ApiError tooLarge(String code, String message) {
    return new ApiError(413, "invalid_request_error", code, message, null);
  }

  public static ApiError invalidOption(String code, String message) {
    return new ApiError(422, "invalid_request_error", code, message, null);
  }

  public static ApiError notFound(String path) {
    return new ApiError(404, "not_found_error", "not_found", "no route for " + path, null);
  }

  public static ApiError unauthorized() {
    return new ApiError(401, "authentication_error", "invalid_api_key",
        "missing or wrong API key: send Authorization: Bearer <key>", null);
  }

  public static ApiError notReady() {
    return new ApiError(503, "server_error", "not_ready", "the model is still loading; retry shortly", Duration.ofSeconds(1));
  }

  /** Maps any failure of a request to its API error. */
  public static ApiError of(Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (e instanceof ApiException a) {
      return a.error();
    }
    if (e instanceof Overloaded o) {
      return new ApiError(429, "rate_limit_error", o.code(), o.getMessage(), o.retryAfter());
    }
    if (e instanceof ShuttingDown s) {
      return new ApiError(503, "server_error", s.code(), s.getMessage(), Duration.ofSeconds(1));
    }
    if (e instanceof WorkerLost || e instanceof NoWorkers) { // nothing wrong with the request: safe to send again
      ExitflowException x = (ExitflowException) e;
      return new ApiError(503, "server_error", x.code(), x.getMessage(), Duration.ofSeconds(1));
    }
    if (e instanceof InferenceFailed f) {
      return new ApiError(500, "server_error", f.code(), f.getMessage(), null);
    }
    if (e instanceof InvalidInputException || e instanceof LineRequest.Invalid) {
      String code = ((ExitflowException) e).code();
      return INVALID_OPTIONS.contains(code) ? invalidOption(code, e.getMessage()) : badRequest(code, e.getMessage());
    }
    if (e instanceof ExitflowException x) {
      return new ApiError(500, "server_error", x.code(), x.getMessage(), null);
    }
    if (e instanceof TimeoutException) {
      return new ApiError(503, "server_error", "timeout", "no answer in time: " + e.getMessage(), Duration.ofSeconds(1));
    }
    return new ApiError(500, "server_error", "internal_error", String.valueOf(e.getMessage()), null);
  }

  public Map<String, Object> body() {
    return Map.of("error", Map.of("message", message, "type", type, "code", code));
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
