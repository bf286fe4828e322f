package dev.exitflow.streams.kafka;

import static dev.exitflow.streams.kafka.TopicClient.header;
import static dev.exitflow.streams.kafka.TopicClient.record;
import static dev.exitflow.streams.kafka.TopicClient.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.streams.Prose;
import dev.exitflow.streams.RuntimeFixture;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** long_text on Kafka: a 5,000-token record chunked into one result; one past the token limit dead-lettered. */
class ChunkedRecordsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Config config;
  private static RuntimeFixture served;

  @BeforeAll
  static void start() {
    config = ConfigFactory.parseString("exitflow.kafka.embedded.port = 0").withFallback(ConfigFactory.load());
    served = RuntimeFixture.withKafka(config);
  }

  @AfterAll
  static void stop() {
    if (served != null) {
      served.stop();
    }
  }

  @Test
  void aLongRecordIsChunkedAndOnePastTheTokenLimitIsADeadLetter() throws Exception {
    KafkaSettings s = KafkaSettings.create(config).withBootstrapServers(served.kafka().bootstrapServers())
        .withGroupId("chunked-group").withTopics(new KafkaSettings.Topics(
            "chunked-requests", "chunked-results", "chunked-dead-letter", true, 4, (short) -1));
    Topics.ensure(s);
    TextTokenizer tokenizer = served.runtime().tokenizer();
    String text = Prose.ofTokens(tokenizer, 5000);
    int windows = tokenizer.windows(text, s.requestLimits().chunkOverlap()).count();
    String huge = Prose.ofTokens(tokenizer, 8300); // past max-tokens-per-request (8192)
    byte[] hugeChunk = JSON.writeValueAsBytes(Map.of("id", "huge", "input", huge, "long_text", "chunk", "exit", 2));
    assertTrue(hugeChunk.length < s.maxRecordBytes(), "refused for its tokens, not its bytes");
    String shortText = "The committee adopted the report on the budget.";
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      producer.send(record(s.topics().requests(), "long", JSON.writeValueAsBytes(
          Map.of("id", "long", "input", text, "long_text", "chunk", "exit", 2))));
      producer.send(record(s.topics().requests(), "huge", hugeChunk));
      producer.send(record(s.topics().requests(), "huge-cut", JSON.writeValueAsBytes(
          Map.of("id", "huge-cut", "input", huge, "exit", 2))));
      producer.send(record(s.topics().requests(), "short-chunk", JSON.writeValueAsBytes(
          Map.of("id", "short-chunk", "input", shortText, "long_text", "chunk", "exit", 2))));
      producer.send(record(s.topics().requests(), "short", JSON.writeValueAsBytes(
          Map.of("id", "short", "input", shortText, "exit", 2)))).get();
    }
    KafkaPipeline pipeline = KafkaPipeline.start(served.system(), served.runtime(), s);
    List<ConsumerRecord<byte[], byte[]>> results = TopicClient.readUntil(s.bootstrapServers(), s.topics().results(),
        r -> r.size() >= 4, Duration.ofSeconds(60));
    List<ConsumerRecord<byte[], byte[]>> dead = TopicClient.readUntil(s.bootstrapServers(), s.topics().deadLetter(),
        r -> r.size() >= 1, Duration.ofSeconds(30));
    pipeline.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);

    Map<String, JsonNode> byId = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : results) {
      JsonNode v = JSON.readTree(r.value());
      byId.put(v.get("id").asText(), v);
    }
    assertEquals(4, results.size(), byId.keySet().toString());
    JsonNode long_ = byId.get("long");
    assertEquals(windows, long_.get("chunks").asInt());
    assertTrue(long_.get("tokens").asInt() >= 5000, "tokens " + long_.get("tokens"));
    assertEquals(2, long_.get("exit_layer").asInt());
    assertEquals(1.0, norm(long_.get("embedding")), 1e-4);
    assertEquals(256, byId.get("huge-cut").get("tokens").asInt(), "truncate mode: cut at the model's maximum");
    assertFalse(byId.get("huge-cut").has("chunks"));
    assertEquals(1, byId.get("short-chunk").get("chunks").asInt());
    assertArrayEquals(floats(byId.get("short").get("embedding")), floats(byId.get("short-chunk").get("embedding")));

    assertEquals(1, dead.size());
    assertEquals("huge", utf8(dead.get(0).key()));
    assertEquals("input_too_large", header(dead.get(0), KafkaHeaders.ERROR_CODE));
    assertTrue(header(dead.get(0), KafkaHeaders.ERROR_MESSAGE).contains("max-tokens-per-request"));
    assertArrayEquals(hugeChunk, dead.get(0).value(), "the record copied unchanged");
  }

  private static double norm(JsonNode v) {
    double s = 0;
    for (JsonNode x : v) {
      s += x.asDouble() * x.asDouble();
    }
    return Math.sqrt(s);
  }

  private static float[] floats(JsonNode v) {
    float[] out = new float[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = v.get(i).floatValue();
    }
    return out;
  }
}
