package dev.exitflow.streams.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.model.ExitflowException;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.streams.Job;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.pekko.kafka.ConsumerMessage.CommittableMessage;

/**
 * Turns a request record into a {@link Job}: the request, or the error that says why there is
 * none (never an exception, so a bad record cannot stop the stream). The value is UTF-8 text or
 * JSON {@code {"id"?, "input", "exit"?, "deadline_ms"?, "dimensions"?}}.
 *
 * <p>Deadlines count from the record's timestamp: an {@code auto} record gets what is left of the
 * SLO when it is decoded, so consumer lag makes later records leave earlier instead of lagging more.
 */
final class RequestDecoder {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KafkaSettings settings;

  RequestDecoder(KafkaSettings settings) {
    this.settings = settings;
  }

  Job<Incoming> decode(CommittableMessage<byte[], byte[]> message, long seq) {
    ConsumerRecord<byte[], byte[]> r = message.record();
    long now = System.nanoTime();
    String fallbackId = Incoming.defaultId(r);
    try {
      byte[] value = r.value();
      if (value == null || value.length == 0) {
        throw new InvalidInputException("empty_input", "the record has no value; there is nothing to embed");
      }
      if (value.length > settings.maxRecordBytes()) {
        throw new InvalidInputException("input_too_large", "the record value has " + value.length
            + " bytes; at most " + settings.maxRecordBytes() + " are accepted (exitflow.kafka.requests.max-record-bytes)");
      }
      String text = utf8(value);
      return settings.recordFormat() == KafkaSettings.RecordFormat.TEXT
          ? job(message, fallbackId, request(text, null, null, null, r), now, seq)
          : fromJson(message, text, fallbackId, now, seq);
    } catch (ExitflowException e) {
      return Job.invalid(new Incoming(message.committableOffset(), r, fallbackId, null, now, seq), e);
    }
  }

  private Job<Incoming> fromJson(CommittableMessage<byte[], byte[]> message, String text, String fallbackId, long now,
      long seq) {
    ConsumerRecord<byte[], byte[]> r = message.record();
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (Exception e) {
      throw new InvalidInputException("bad_json", "the record value is not JSON: " + firstLine(e.getMessage()));
    }
    if (node == null || !node.isObject()) {
      throw new InvalidInputException("bad_json", "the record value must be a JSON object with an \"input\" string");
    }
    JsonNode idNode = node.get("id");
    String id = idNode != null && (idNode.isTextual() || idNode.isIntegralNumber()) ? idNode.asText() : fallbackId;
    try {
      JsonNode input = node.get("input");
      if (input == null || !input.isTextual()) {
        throw new InvalidInputException("bad_input", "\"input\" must be a string");
      }
      JsonNode exit = node.get("exit");
      ExitPolicy policy = exit == null || exit.isNull() ? null : ExitPolicy.parse(exit.asText());
      Long deadline = integer(node.get("deadline_ms"), "bad_deadline", "deadline_ms");
      if (deadline != null && deadline <= 0) {
        throw new InvalidInputException("bad_deadline", "deadline_ms must be positive, got " + deadline);
      }
      Long dims = integer(node.get("dimensions"), "dimensions_out_of_range", "dimensions");
      return job(message, id, request(input.asText(), policy, deadline, dims == null ? null : dims.intValue(), r), now, seq);
    } catch (ExitflowException e) {
      return Job.invalid(new Incoming(message.committableOffset(), r, id, null, now, seq), e);
    }
  }

  private static Job<Incoming> job(CommittableMessage<byte[], byte[]> m, String id, EmbeddingRequest request, long now,
      long seq) {
    return Job.of(new Incoming(m.committableOffset(), m.record(), id, request, now, seq), request);
  }

  private EmbeddingRequest request(String text, ExitPolicy exit, Long deadlineMs, Integer dimensions,
      ConsumerRecord<?, ?> r) {
    if (text.isBlank()) {
      throw new InvalidInputException("empty_input", "the input is empty or only whitespace; there is nothing to embed");
    }
    ExitPolicy policy = exit != null ? exit : settings.defaultExit();
    long age = r.timestamp() > 0 ? Math.max(0, System.currentTimeMillis() - r.timestamp()) : 0;
    Long budget = deadlineMs != null ? Long.valueOf(deadlineMs)
        : policy instanceof ExitPolicy.Auto ? Long.valueOf(settings.slo().toMillis()) : null;
    Long left = budget == null ? null : Math.max(1, budget - age);
    return new EmbeddingRequest(text, policy, left, settings.priority(), dimensions);
  }

  private static Long integer(JsonNode n, String code, String name) {
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isIntegralNumber()) {
      throw new InvalidInputException(code, name + " must be an integer, got " + n);
    }
    return n.asLong();
  }

  private static String utf8(byte[] value) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(value)).toString();
    } catch (CharacterCodingException e) {
      throw new InvalidInputException("bad_utf8", "the record value is not valid UTF-8: " + e.getMessage());
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
