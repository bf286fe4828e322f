package dev.exitflow.streams.request;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.tokenize.TextWindows;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The one decoder of a request, whatever carries it: an HTTP JSON body, a WebSocket frame, a bulk
 * line and the bulk query, a Kafka record. Every field is read here, with strict types: an integer
 * is a JSON integer (1.5 and "64" are {@link ErrorCode#INVALID_TYPE}), a boolean a boolean, an
 * {@code id} a string or an integer; {@code null} means absent. Text must be valid UTF-8 and valid
 * Unicode ({@link ErrorCode#BAD_UTF8}); exits, dimensions and deadlines are checked against the
 * served model here, so a request that decodes is one the runtime accepts. Every failure is an
 * {@link InvalidRequest} carrying the request's id when it had a valid one.
 */
public final class RequestDecoder {
  /** Duplicate keys and trailing content would let two readers of one request disagree: refused. */
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();
  private static final long MAX_DEADLINE_MS = 86_400_000L;
  private static final Map<String, String> PARAM_OF_CODE = Map.of(
      "unknown_exit", "exit", "dimensions_out_of_range", "dimensions", "deadline_out_of_range", "deadline_ms",
      "unknown_priority", "priority", "empty_input", "input", "fidelity_out_of_range", "min_fidelity",
      "exit_below_min_fidelity", "min_fidelity");

  private final RequestLimits limits;
  private final String model;
  private final Consumer<EmbeddingRequest> validate;
  private final Function<String, TextWindows> split;

  /**
   * {@code validate} checks options against the served model, throwing InvalidInputException;
   * {@code split} cuts a chunk-mode text into windows of the model's maximum length.
   */
  public RequestDecoder(RequestLimits limits, String model, Consumer<EmbeddingRequest> validate,
      Function<String, TextWindows> split) {
    this.limits = limits;
    this.model = model;
    this.validate = validate;
    this.split = split;
  }

  /** Refuses, before the first request, a window overlap the model's windows cannot hold. */
  public static RequestDecoder forRuntime(EncoderRuntime runtime, RequestLimits limits) {
    int room = runtime.model().maxSequenceLength() - 2;
    if (limits.chunkOverlap() < 0 || limits.chunkOverlap() >= room / 2) {
      throw new IllegalArgumentException("exitflow.requests.chunk-overlap = " + limits.chunkOverlap() + " does not fit "
          + "windows of " + room + " tokens (model " + runtime.model().name() + "): it must be at least 0 and under "
          + room / 2);
    }
    return new RequestDecoder(limits, runtime.model().name(), runtime::validate,
        text -> runtime.tokenizer().windows(text, limits.chunkOverlap()));
  }

  public RequestLimits limits() {
    return limits;
  }

  /** The name of the served model, as {@code model} must give it. */
  public String model() {
    return model;
  }

  /** An HTTP body: a JSON object whose {@code input} is a string or an array of up to max-inputs strings. */
  public DecodedRequest body(byte[] bytes, RequestDefaults defaults) {
    return fields(parse(bytes), true, defaults);
  }

  /** A WebSocket frame or a JSON Kafka record: a JSON object with one {@code input} string. */
  public DecodedRequest frame(byte[] bytes, RequestDefaults defaults) {
    return fields(parse(bytes), false, defaults);
  }

  public DecodedRequest frame(String text, RequestDefaults defaults) {
    return fields(parse(text), false, defaults);
  }

  /** A bulk line: a JSON object as a frame, or else plain text, stripped, taken whole as the input. */
  public DecodedRequest line(byte[] bytes, RequestDefaults defaults) {
    String text = utf8(bytes).strip();
    return text.startsWith("{") ? fields(parse(text), false, defaults) : plain(text, defaults);
  }

  /** Plain UTF-8 text taken whole as the input (Kafka's {@code text} record format). */
  public DecodedRequest text(byte[] bytes, RequestDefaults defaults) {
    return plain(utf8(bytes), defaults);
  }

  /**
   * The bulk query: {@code exit}, {@code dimensions}, {@code priority}, {@code deadline_ms} become
   * the defaults of the upload's lines; {@code model} is checked. Values are read as in JSON, so
   * {@code dimensions=x} or {@code =1.5} is {@link ErrorCode#INVALID_TYPE}.
   */
  public RequestDefaults query(Map<String, String> params, RequestDefaults base) {
    String named = params.get("model");
    checkModel(named);
    ExitPolicy exit = params.containsKey("exit") ? exit(params.get("exit")) : base.exit();
    Priority priority = params.containsKey("priority") ? priority(params.get("priority")) : base.priority();
    Integer dims = params.containsKey("dimensions")
        ? Integer.valueOf(dimensions(parseLong("dimensions", params.get("dimensions")))) : base.dimensions();
    Long deadline = params.containsKey("deadline_ms")
        ? Long.valueOf(deadline(parseLong("deadline_ms", params.get("deadline_ms")))) : base.deadlineMs();
    Double floor = params.containsKey("min_fidelity")
        ? Double.valueOf(fidelity(parseNumber("min_fidelity", params.get("min_fidelity")))) : base.minFidelity();
    LongText longText = params.containsKey("long_text") ? LongText.parse(params.get("long_text")) : base.longText();
    validate(new EmbeddingRequest("query", exit, deadline, priority, dims, floor));
    return new RequestDefaults(exit, priority, dims, deadline, floor, longText);
  }

  private DecodedRequest plain(String text, RequestDefaults d) {
    checkText(text, -1);
    DecodedRequest r = new DecodedRequest(null, List.of(text), null, d.exit(), d.deadlineMs(), d.priority(),
        d.dimensions(), false, false, null, d.minFidelity(), null);
    validate(r.request());
    return withWindows(r, d.longText());
  }

  /**
   * In chunk mode, the request with each input's windows, once the whole request is known to be
   * valid (tokenizing is the costly check, so it comes last). Refused as {@link ErrorCode#INPUT_TOO_LARGE}
   * past max-tokens-per-request tokens in all, or past max-inputs windows: a request's windows are
   * admitted together, like its inputs, so more could never be admitted.
   */
  private DecodedRequest withWindows(DecodedRequest r, LongText mode) {
    if (mode != LongText.CHUNK) {
      return r;
    }
    List<TextWindows> windows = new ArrayList<>(r.inputs().size());
    long tokens = 0;
    long count = 0;
    for (String text : r.inputs()) {
      TextWindows w = split.apply(text);
      windows.add(w);
      tokens += w.tokens();
      count += w.count();
      if (tokens > limits.maxTokensPerRequest()) {
        throw new InvalidRequest(ErrorCode.INPUT_TOO_LARGE, "input", (r.inputs().size() > 1 ? "the inputs have at least "
            : "the input has ") + tokens + " tokens; with long_text 'chunk' a request may have at most "
            + limits.maxTokensPerRequest() + " (exitflow.requests.max-tokens-per-request)");
      }
    }
    if (count > limits.maxInputs()) {
      throw new InvalidRequest(ErrorCode.INPUT_TOO_LARGE, "input", "the inputs make " + count + " windows; "
          + "a request may have at most " + limits.maxInputs() + " (exitflow.requests.max-inputs)");
    }
    return new DecodedRequest(r.id(), r.inputs(), r.model(), r.exit(), r.deadlineMs(), r.priority(), r.dimensions(),
        r.base64(), r.upgrade(), r.user(), r.minFidelity(), List.copyOf(windows));
  }

  private DecodedRequest fields(JsonNode node, boolean many, RequestDefaults d) {
    if (node == null || !node.isObject()) {
      throw new InvalidRequest(ErrorCode.INVALID_JSON, null, "a request must be a JSON object with an 'input' field");
    }
    JsonNode id = id(node.get("id"));
    try {
      List<String> inputs = inputs(node.get("input"), many);
      String named = string(node, "model");
      checkModel(named);
      JsonNode exitNode = present(node, "exit");
      ExitPolicy exit = exitNode == null ? d.exit() : exit(exitNode);
      Long deadlineField = integer(node, "deadline_ms");
      Long deadline = deadlineField == null ? d.deadlineMs() : Long.valueOf(deadline(deadlineField));
      Long dimsField = integer(node, "dimensions");
      Integer dims = dimsField == null ? d.dimensions() : Integer.valueOf(dimensions(dimsField));
      Double floorField = number(node, "min_fidelity");
      Double floor = floorField == null ? d.minFidelity() : Double.valueOf(fidelity(floorField));
      String priorityField = string(node, "priority");
      Priority priority = priorityField == null ? d.priority() : priority(priorityField);
      String encoding = string(node, "encoding_format");
      if (encoding != null && !encoding.equals("float") && !encoding.equals("base64")) {
        throw new InvalidRequest(ErrorCode.UNSUPPORTED_ENCODING, "encoding_format",
            "encoding_format '" + encoding + "' is not 'float' or 'base64'");
      }
      JsonNode upgrade = present(node, "upgrade");
      if (upgrade != null && !upgrade.isBoolean()) {
        throw type("upgrade", "a boolean", upgrade);
      }
      String longTextField = string(node, "long_text");
      LongText longText = longTextField == null ? d.longText() : LongText.parse(longTextField);
      DecodedRequest r = new DecodedRequest(id, inputs, named, exit, deadline, priority, dims,
          "base64".equals(encoding), upgrade != null && upgrade.booleanValue(), string(node, "user"), floor, null);
      validate(r.request());
      return withWindows(r, longText);
    } catch (InvalidRequest e) {
      throw e.withId(id);
    }
  }

  private static JsonNode id(JsonNode id) {
    if (id == null || id.isNull()) {
      return null;
    }
    if (id.isTextual() || (id.isIntegralNumber() && id.canConvertToLong())) {
      return id;
    }
    throw type("id", "a string or an integer", id);
  }

  private List<String> inputs(JsonNode input, boolean many) {
    if (input == null || input.isNull()) {
      throw new InvalidRequest(ErrorCode.MISSING_INPUT, "input",
          many ? "'input' is required: a string or an array of strings" : "'input' is required: a string");
    }
    List<String> out = new ArrayList<>();
    if (input.isTextual()) {
      out.add(input.textValue());
    } else if (input.isArray() && many) {
      if (input.isEmpty()) {
        throw new InvalidRequest(ErrorCode.MISSING_INPUT, "input", "'input' is an empty array");
      }
      if (input.size() > limits.maxInputs()) {
        throw new InvalidRequest(ErrorCode.TOO_MANY_INPUTS, "input", input.size()
            + " inputs in one request; the limit is " + limits.maxInputs() + " (exitflow.requests.max-inputs)");
      }
      for (JsonNode item : input) {
        if (!item.isTextual()) {
          throw type("input", "an array of strings (token ids are not supported)", item);
        }
        out.add(item.textValue());
      }
    } else {
      throw type("input", many ? "a string or an array of strings" : "a string", input);
    }
    for (int i = 0; i < out.size(); i++) {
      checkText(out.get(i), out.size() > 1 ? i : -1);
    }
    return out;
  }

  /** Length, blankness and Unicode validity of one text ({@code index} -1 for a single input). */
  private void checkText(String text, int index) {
    String which = index < 0 ? "the input" : "input " + index;
    if (text.length() > limits.maxInputChars()) {
      throw new InvalidRequest(ErrorCode.INPUT_TOO_LONG, "input", which + " has " + text.length()
          + " characters; the limit is " + limits.maxInputChars() + " (exitflow.requests.max-input-chars)");
    }
    if (text.isBlank()) {
      throw new InvalidRequest(ErrorCode.EMPTY_INPUT, "input", which + " is empty or only whitespace; there is nothing to embed");
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) { // a \\uD800 escape: valid JSON, not valid text
        throw new InvalidRequest(ErrorCode.BAD_UTF8, "input", which + " has an unpaired surrogate at " + i
            + ", which is not valid Unicode text");
      }
    }
  }

  private void checkModel(String named) {
    if (named != null && !named.equals(model)) {
      throw new InvalidRequest(ErrorCode.UNKNOWN_MODEL, "model",
          "model '" + named + "' is not served here; GET /v1/models lists '" + model + "'");
    }
  }

  private void validate(EmbeddingRequest r) {
    try {
      validate.accept(r);
    } catch (InvalidRequest e) {
      throw e;
    } catch (InvalidInputException e) {
      throw new InvalidRequest(ErrorCode.fromCode(e.code()), PARAM_OF_CODE.get(e.code()), e.getMessage());
    }
  }

  private static ExitPolicy exit(JsonNode n) {
    if (n.isTextual()) {
      return exit(n.textValue());
    }
    if (n.isIntegralNumber()) { // a layer number, like "4"; one too large for an int is no layer either
      if (!n.canConvertToInt()) {
        throw new InvalidRequest(ErrorCode.UNKNOWN_EXIT, "exit", "exit " + n + " is not an exit layer");
      }
      return new ExitPolicy.Exact(n.intValue());
    }
    throw type("exit", "a string (shallow, deep, auto) or an exit layer", n);
  }

  private static ExitPolicy exit(String text) {
    try {
      return ExitPolicy.parse(text);
    } catch (InvalidInputException e) {
      throw new InvalidRequest(ErrorCode.UNKNOWN_EXIT, "exit", e.getMessage());
    }
  }

  private static Priority priority(String text) {
    try {
      return Priority.parse(text);
    } catch (InvalidInputException e) {
      throw new InvalidRequest(ErrorCode.UNKNOWN_PRIORITY, "priority", e.getMessage());
    }
  }

  private static int dimensions(long dims) {
    if (dims < 1 || dims > Integer.MAX_VALUE) {
      throw new InvalidRequest(ErrorCode.DIMENSIONS_OUT_OF_RANGE, "dimensions", "dimensions " + dims + " is out of range");
    }
    return (int) dims;
  }

  private static long deadline(long ms) {
    if (ms < 1 || ms > MAX_DEADLINE_MS) {
      throw new InvalidRequest(ErrorCode.DEADLINE_OUT_OF_RANGE, "deadline_ms",
          "deadline_ms must be between 1 and " + MAX_DEADLINE_MS + ", got " + ms);
    }
    return ms;
  }

  /** The field's node, or null when it is absent or JSON null. */
  private static JsonNode present(JsonNode node, String field) {
    JsonNode n = node.get(field);
    return n == null || n.isNull() ? null : n;
  }

  private static String string(JsonNode node, String field) {
    JsonNode n = present(node, field);
    if (n == null) {
      return null;
    }
    if (!n.isTextual()) {
      throw type(field, "a string", n);
    }
    return n.textValue();
  }

  /** An integer field; a number too large for a long is out of range, not of the wrong type. */
  private static Long integer(JsonNode node, String field) {
    JsonNode n = present(node, field);
    if (n == null) {
      return null;
    }
    if (!n.isIntegralNumber()) {
      throw type(field, "an integer", n);
    }
    return n.canConvertToLong() ? n.longValue() : (n.bigIntegerValue().signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE);
  }

  private static Double number(JsonNode node, String field) {
    JsonNode n = present(node, field);
    if (n == null) {
      return null;
    }
    if (!n.isNumber()) {
      throw type(field, "a number", n);
    }
    return n.doubleValue();
  }

  private static double fidelity(double floor) {
    if (!(floor >= 0 && floor <= 1)) {
      throw new InvalidRequest(ErrorCode.FIDELITY_OUT_OF_RANGE, "min_fidelity",
          "min_fidelity must be between 0 and 1, got " + floor);
    }
    return floor;
  }

  /** A query parameter that must be a number, read as strictly as a JSON one. */
  private static double parseNumber(String field, String text) {
    try {
      JsonNode n = JSON.readTree(text);
      if (n != null && n.isNumber()) {
        return n.doubleValue();
      }
    } catch (JsonProcessingException e) {
      // not JSON: reported as the wrong type below
    }
    throw new InvalidRequest(ErrorCode.INVALID_TYPE, field, "'" + field + "' must be a number, got " + text);
  }

  /** A query parameter that must be an integer, read as strictly as a JSON one. */
  private static long parseLong(String field, String text) {
    if (!text.matches("-?[0-9]{1,18}")) {
      if (text.matches("-?[0-9]+")) {
        return text.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
      }
      throw new InvalidRequest(ErrorCode.INVALID_TYPE, field, field + " must be an integer, got '" + text + "'");
    }
    return Long.parseLong(text);
  }

  private static InvalidRequest type(String field, String expected, JsonNode got) {
    String shown = got.toString();
    return new InvalidRequest(ErrorCode.INVALID_TYPE, field, "'" + field + "' must be " + expected + ", got "
        + (shown.length() > 40 ? shown.substring(0, 40) + "..." : shown));
  }

  /**
   * JSON bytes, checked as strict UTF-8 first. Bytes that are all ASCII (most requests) are valid
   * UTF-8 as they are and are parsed without being decoded into a String first; any other byte
   * takes the strict decoder, and so does NUL, from which Jackson would guess UTF-16 or UTF-32.
   */
  private static JsonNode parse(byte[] bytes) {
    for (byte b : bytes) {
      if (b <= 0) {
        return parse(utf8(bytes));
      }
    }
    try {
      return JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new InvalidRequest(ErrorCode.INVALID_JSON, null, "not valid JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static JsonNode parse(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new InvalidRequest(ErrorCode.INVALID_JSON, null, "not valid JSON: " + e.getOriginalMessage());
    }
  }

  /** Strict UTF-8: malformed bytes are refused, never replaced. */
  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new InvalidRequest(ErrorCode.BAD_UTF8, null, "the bytes are not valid UTF-8: " + e);
    }
  }
}
