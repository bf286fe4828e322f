package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.streams.request.ErrorCode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

/** The lines of a batch's output and error files, and its {@code errors} object, in OpenAI's shapes. */
final class BatchLines {
  private BatchLines() {}

  /**
   * {@code {"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}},
   * OpenAI's output line, with the answer's body bytes put in as they came.
   */
  static byte[] output(String customId, long index, LineEmbedder.Answer answer) {
    try {
      byte[] head = ("{\"id\":\"" + requestId() + "\",\"custom_id\":" + FileStore.JSON.writeValueAsString(customId)
          + ",\"response\":{\"status_code\":" + answer.status() + ",\"request_id\":\"req_" + index + "\",\"body\":")
          .getBytes(StandardCharsets.UTF_8);
      byte[] tail = "},\"error\":null}".getBytes(StandardCharsets.UTF_8);
      byte[] line = Arrays.copyOf(head, head.length + answer.body().length + tail.length);
      System.arraycopy(answer.body(), 0, line, head.length, answer.body().length);
      System.arraycopy(tail, 0, line, head.length + answer.body().length, tail.length);
      return line;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The error-file line of a request not computed before the batch expired ({@code response: null}). */
  static byte[] expired(String request) throws IOException {
    ObjectNode line = FileStore.JSON.createObjectNode()
        .put("id", requestId())
        .put("custom_id", FileStore.JSON.readTree(request).get("custom_id").asText());
    line.putNull("response");
    line.putObject("error").put("code", ErrorCode.BATCH_EXPIRED.code())
        .put("message", "This request could not be executed before the completion window expired.");
    return FileStore.JSON.writeValueAsBytes(line);
  }

  /** A batch's {@code errors}: {@code {"object": "list", "data": [{"code", "message", "param", "line"}]}}. */
  static ObjectNode errors(String code, String message) {
    ObjectNode errors = FileStore.JSON.createObjectNode().put("object", "list");
    ObjectNode e = errors.putArray("data").addObject().put("code", code).put("message", message);
    e.putNull("param");
    e.putNull("line");
    return errors;
  }

  private static String requestId() {
    return "batch_req_" + UUID.randomUUID().toString().replace("-", "");
  }
}
