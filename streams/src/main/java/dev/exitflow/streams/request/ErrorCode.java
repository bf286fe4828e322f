package dev.exitflow.streams.request;

import dev.exitflow.model.ExitflowException;
import dev.exitflow.model.Failures;
import java.util.Locale;

/**
 * Every error Exitflow reports, once for all transports: the stable {@link #code()}, what it means,
 * and its HTTP status and OpenAI error type. Over HTTP it is the body {@code {"error": {"message",
 * "type", "param", "code"}}} with {@link #status()}; on a WebSocket the same object as a frame with
 * the request's {@code id}; in bulk output the same object on the request's line; on Kafka a dead
 * letter with header {@code exitflow-error-code} = {@link #code()} ({@link #kafkaRetries()}: the
 * pipeline waits and submits again instead). docs/api.md shows this table; a test keeps the two equal.
 */
public enum ErrorCode {
  // The request itself: the same answer on every transport.
  INVALID_JSON(Scope.REQUEST, 400, "the body, frame, line or record is not a JSON object (or JSON nested too deeply)"),
  BAD_UTF8(Scope.REQUEST, 400, "the bytes are not valid UTF-8"),
  INVALID_TYPE(Scope.REQUEST, 400, "a field has the wrong JSON type: integers must be integers (not 1.5, not \"64\"), "
      + "booleans booleans, `id` a string or an integer, `input` a string or an array of strings"),
  MISSING_INPUT(Scope.REQUEST, 400, "no `input`, or an empty array"),
  EMPTY_INPUT(Scope.REQUEST, 400, "an input is empty or only whitespace"),
  REQUEST_TOO_LARGE(Scope.REQUEST, 413, "the body, frame, bulk line or record value exceeds its byte limit"),
  TOO_MANY_INPUTS(Scope.REQUEST, 413, "more inputs in one request than `exitflow.requests.max-inputs`"),
  INPUT_TOO_LONG(Scope.REQUEST, 413, "an input is longer than `exitflow.requests.max-input-chars`"),
  INPUT_TOO_LARGE(Scope.REQUEST, 413, "with `long_text: chunk`, the request's texts have more tokens in all than "
      + "`exitflow.requests.max-tokens-per-request`, or more windows than `max-inputs`"),
  UNKNOWN_MODEL(Scope.REQUEST, 422, "`model` names a model this server does not serve"),
  UNKNOWN_EXIT(Scope.REQUEST, 422, "`exit` is not shallow, deep, auto or one of the model's exit layers"),
  UNKNOWN_PRIORITY(Scope.REQUEST, 422, "`priority` is not interactive or bulk"),
  UNKNOWN_LONG_TEXT(Scope.REQUEST, 422, "`long_text` is not truncate or chunk"),
  UNSUPPORTED_ENCODING(Scope.REQUEST, 422, "`encoding_format` is not float or base64"),
  DIMENSIONS_OUT_OF_RANGE(Scope.REQUEST, 422, "`dimensions` is not between 1 and the model's embedding size"),
  DEADLINE_OUT_OF_RANGE(Scope.REQUEST, 422, "`deadline_ms` is not a positive number of milliseconds up to a day"),
  FIDELITY_OUT_OF_RANGE(Scope.REQUEST, 422, "`min_fidelity` is not a number between 0 and 1"),
  EXIT_BELOW_MIN_FIDELITY(Scope.REQUEST, 422,
      "`exit` names an exit whose fidelity (see `GET /v1/models`) is below `min_fidelity`"),
  // HTTP only: before a request is decoded.
  INVALID_API_KEY(Scope.HTTP, 401, "missing or wrong `Authorization: Bearer` key"),
  NOT_FOUND(Scope.HTTP, 404, "no such route"),
  MODEL_NOT_FOUND(Scope.HTTP, 404, "GET /v1/models/{id} for a model this server does not serve"),
  METHOD_NOT_ALLOWED(Scope.HTTP, 405, "the route exists for other methods (listed in `Allow`)"),
  INCOMPLETE_BODY(Scope.HTTP, 400, "the body did not arrive in full within `exitflow.gateway.limits.body-read-timeout`"),
  BAD_REQUEST(Scope.HTTP, 400, "an HTTP request Exitflow cannot read (bad header, query or content type)"),
  URI_TOO_LONG(Scope.HTTP, 414, "the request line is too long"),
  HEADERS_TOO_LARGE(Scope.HTTP, 431, "a header or all headers together are too large"),
  FILE_NOT_FOUND(Scope.HTTP, 404, "`/v1/files/{id}` or a batch's `input_file_id` names no stored file"),
  BATCH_NOT_FOUND(Scope.HTTP, 404, "`/v1/batches/{id}` names no batch"),
  INVALID_BATCH(Scope.HTTP, 400, "a file upload or batch that cannot be accepted (purpose, endpoint, completion window, "
      + "a batch not in a state that allows it); a batch whose input file is not valid JSONL fails with this code "
      + "naming the line"),
  BATCH_EXPIRED(Scope.HTTP, 408, "a batch line not computed before the batch's `completion_window` closed: the batch "
      + "ends `expired` and the line goes to its error file (no HTTP response carries this code)"),
  // The runtime: nothing wrong with the request.
  OVERLOADED(Scope.RUNTIME, 429, "the runtime cannot take the whole request now: its admission queue has no room, or an interactive `auto` request would miss its deadline behind the queue; retry after `Retry-After`"),
  NOT_READY(Scope.RUNTIME, 503, "the model is still loading"),
  SHUTTING_DOWN(Scope.RUNTIME, 503, "the server is draining and accepts no new requests"),
  NO_WORKERS(Scope.RUNTIME, 503, "no worker serves a stage (cluster)"),
  WORKER_LOST(Scope.RUNTIME, 503, "the worker running the request was lost more often than allowed (cluster)"),
  TIMEOUT(Scope.RUNTIME, 503, "no answer in time"),
  INFERENCE_FAILED(Scope.RUNTIME, 500, "ONNX Runtime failed on the batch"),
  INTERNAL_ERROR(Scope.RUNTIME, 500, "a bug: please report it");

  /** Where a code can arise: from any transport's request, from HTTP alone, or from the runtime. */
  public enum Scope { REQUEST, HTTP, RUNTIME }

  private final Scope scope;
  private final int status;
  private final String meaning;

  ErrorCode(Scope scope, int status, String meaning) {
    this.scope = scope;
    this.status = status;
    this.meaning = meaning;
  }

  /** The stable name clients match on: the constant's name in lower case, e.g. {@code bad_utf8}. */
  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }

  public int status() {
    return status;
  }

  public String meaning() {
    return meaning;
  }

  /** OpenAI's error {@code type} for the status, so OpenAI's SDKs raise the matching exception. */
  public String type() {
    return switch (status) {
      case 401 -> "authentication_error";
      case 404 -> this == NOT_FOUND ? "not_found_error" : "invalid_request_error";
      case 429 -> "rate_limit_error";
      default -> status >= 500 ? "server_error" : "invalid_request_error";
    };
  }

  public Scope scope() {
    return scope;
  }

  /** How a WebSocket frame or bulk line reporting this looks, or why none does. */
  public String streamForm() {
    if (this == BATCH_EXPIRED) {
      return "a batch's error-file line, with `response: null`";
    }
    return scope == Scope.HTTP ? "HTTP response (before any frame or line)" : "`{\"id\", \"error\"}` frame / line";
  }

  /** What the Kafka pipeline does with a record that gets this error. */
  public String kafkaForm() {
    if (scope == Scope.HTTP || this == NOT_READY) {
      return "—";
    }
    if (kafkaRetries()) {
      return "waited out, submitted again";
    }
    if (this == INFERENCE_FAILED) {
      return "retried once, then dead letter";
    }
    if (scope == Scope.RUNTIME) {
      return "stream restarts from the last commit";
    }
    return "dead letter, `exitflow-error-code: " + code() + "`";
  }

  /** The table of codes in docs/api.md, one row per code, from this enum (a test keeps docs/api.md equal). */
  public static String markdownTable() {
    StringBuilder out = new StringBuilder("| code | HTTP | meaning | WebSocket frame, bulk line | Kafka |\n"
        + "| --- | --- | --- | --- | --- |\n");
    for (ErrorCode c : values()) {
      out.append("| `").append(c.code()).append("` | ").append(c.status()).append(' ').append(c.type())
          .append(" | ").append(c.meaning()).append(" | ").append(c.streamForm()).append(" | ").append(c.kafkaForm())
          .append(" |\n");
    }
    return out.toString();
  }

  /** Errors the Kafka pipeline waits out and submits again instead of dead-lettering. */
  public boolean kafkaRetries() {
    return this == OVERLOADED || this == NO_WORKERS || this == WORKER_LOST;
  }

  /** The code named {@code code}; {@link #INTERNAL_ERROR} for a name outside the table. */
  public static ErrorCode fromCode(String code) {
    for (ErrorCode c : values()) {
      if (c.code().equals(code)) {
        return c;
      }
    }
    return INTERNAL_ERROR;
  }

  /** The code of any failure: an Exitflow error's own code, a timeout, or else an internal error. */
  public static ErrorCode of(Throwable t) {
    Throwable e = Failures.unwrap(t);
    if (e instanceof InvalidRequest r) {
      return r.errorCode();
    }
    if (e instanceof ExitflowException x) {
      return fromCode(x.code());
    }
    if (e instanceof java.util.concurrent.TimeoutException) {
      return TIMEOUT;
    }
    return INTERNAL_ERROR;
  }
}
