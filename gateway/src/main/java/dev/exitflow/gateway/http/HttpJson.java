package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.util.ByteString;

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
    // The array is ours alone: wrapped, not copied (an embeddings answer is kilobytes per result).
    return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, ByteString.fromArrayUnsafe(bytes(value)));
  }

  /** Writes JSON straight to bytes, with no tree in between. */
  interface JsonWriter {
    void write(JsonGenerator g) throws IOException;
  }

  /** A 200 JSON answer written by {@code writer} into a buffer of about {@code sizeHint} bytes. */
  static HttpResponse ok(int sizeHint, JsonWriter writer) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(256, sizeHint));
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      writer.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, ByteString.fromArrayUnsafe(out.toByteArray()));
  }

  static HttpResponse error(ApiError e) {
    HttpResponse r = HttpResponse.create().withStatus(e.status()).withEntity(ContentTypes.APPLICATION_JSON, bytes(e.body()));
    // retry-after-ms: OpenAI's SDKs prefer it to the whole seconds of Retry-After.
    return e.retryAfter() == null ? r : r.addHeader(RawHeader.create("Retry-After", String.valueOf(e.retryAfterSeconds())))
        .addHeader(RawHeader.create("retry-after-ms", String.valueOf(Math.max(1, e.retryAfter().toMillis()))));
  }
}
