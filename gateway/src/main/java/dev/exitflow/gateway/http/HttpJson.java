package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** JSON in and out of the routes. */
final class HttpJson {
  static final ObjectMapper MAPPER = new ObjectMapper();

  private HttpJson() {}

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /** Parses JSON the gateway itself trusts (tests, its own output); requests go through RequestDecoder. */
  static JsonNode parse(String body) {
    try {
      return MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
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
    // retry-after-ms: OpenAI's SDKs prefer it to the whole seconds of Retry-After.
    return e.retryAfter() == null ? r : r.addHeader(RawHeader.create("Retry-After", String.valueOf(e.retryAfterSeconds())))
        .addHeader(RawHeader.create("retry-after-ms", String.valueOf(Math.max(1, e.retryAfter().toMillis()))));
  }
}
