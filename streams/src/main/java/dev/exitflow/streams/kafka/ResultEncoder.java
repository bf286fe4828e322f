package dev.exitflow.streams.kafka;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.model.runtime.Base64Floats;
import dev.exitflow.streams.FloatArrayJson;
import dev.exitflow.streams.request.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Builds the records the pipeline produces: a result ({@code {"id", "embedding", "exit_layer",
 * "model", "tokens", "latency_ms"}}, and {@code "chunks"} for a text chunked by {@code long_text}) with headers {@code exitflow-exit-layer} and {@code
 * exitflow-model}, under the request's key), or a dead letter (the request record's key, value and
 * headers unchanged, plus headers naming the error and where the record came from).
 */
final class ResultEncoder {
  private static final JsonFactory JSON = new JsonFactory();

  private final KafkaSettings settings;
  private final String model;

  ResultEncoder(KafkaSettings settings, String model) {
    this.settings = settings;
    this.model = model;
  }

  ProducerRecord<byte[], byte[]> result(Incoming in, EmbeddingResult result) {
    ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(settings.topics().results(), null,
        in.record().key(), json(in, result));
    out.headers().add(KafkaHeaders.EXIT_LAYER, utf8(String.valueOf(result.exitLayer())));
    out.headers().add(KafkaHeaders.MODEL, utf8(model));
    return out;
  }

  ProducerRecord<byte[], byte[]> deadLetter(Incoming in, Throwable error) {
    ConsumerRecord<byte[], byte[]> r = in.record();
    ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(settings.topics().deadLetter(), null,
        r.key(), r.value(), r.headers());
    String code = ErrorCode.of(error).code();
    out.headers().add(KafkaHeaders.ERROR_CODE, utf8(code));
    out.headers().add(KafkaHeaders.ERROR_MESSAGE, utf8(String.valueOf(error.getMessage())));
    out.headers().add(KafkaHeaders.SOURCE_TOPIC, utf8(r.topic()));
    out.headers().add(KafkaHeaders.SOURCE_PARTITION, utf8(String.valueOf(r.partition())));
    out.headers().add(KafkaHeaders.SOURCE_OFFSET, utf8(String.valueOf(r.offset())));
    return out;
  }

  private byte[] json(Incoming in, EmbeddingResult result) {
    float[] v = result.embedding();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + v.length * 12);
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      g.writeStartObject();
      g.writeStringField("id", in.id());
      if (settings.embeddingEncoding() == KafkaSettings.EmbeddingEncoding.BASE64) {
        g.writeStringField("embedding", Base64Floats.encode(v));
      } else {
        g.writeFieldName("embedding");
        FloatArrayJson.write(g, v);
      }
      g.writeNumberField("exit_layer", result.exitLayer());
      if (!Double.isNaN(result.fidelity())) {
        g.writeNumberField("exit_fidelity", result.fidelity());
      }
      g.writeStringField("model", model);
      g.writeNumberField("tokens", result.tokens());
      if (result.chunks() > 0) {
        g.writeNumberField("chunks", result.chunks());
      }
      g.writeNumberField("latency_ms", Math.round((System.nanoTime() - in.decodedAtNanos()) / 1e4) / 100.0);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
