package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** JSON in and out of the routes. */
final class Json {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /** Parses a body; malformed JSON is a 400 naming the parser's complaint. */
  static JsonNode parse(String body) {
    try {
      return MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest("invalid_json", "the body is not valid JSON: " + e.getOriginalMessage()).exception();
    }
  }

  static byte[] bytes(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String string(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static HttpResponse ok(Object value) {
    return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, bytes(value));
  }

  static HttpResponse error(ApiError e) {
    HttpResponse r = HttpResponse.create().withStatus(e.status()).withEntity(ContentTypes.APPLICATION_JSON, bytes(e.body()));
    return e.retryAfter() == null ? r : r.addHeader(RawHeader.create("Retry-After", String.valueOf(e.retryAfterSeconds())));
  }
}
