package dev.exitflow.streams.kafka;

import static dev.exitflow.streams.kafka.TopicClient.header;
import static dev.exitflow.streams.kafka.TopicClient.record;
import static dev.exitflow.streams.kafka.TopicClient.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pipeline against a real (embedded, loopback) Kafka broker. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaPipelineTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Config config;
  private static ActorTestKit testKit;
  private static EncoderRuntime runtime;
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void start() {
    config = ConfigFactory.parseString("""
        exitflow.kafka.restart { min-backoff = 200ms, max-backoff = 2s }
        exitflow.kafka.commit.max-interval = 200ms
        """).withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create(config);
    runtime = EncoderRuntime.start(testKit.system(),
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), config);
    kafka = EmbeddedKafka.start(config);
    runtime.ready().toCompletableFuture().join();
  }

  @AfterAll
  static void stop() {
    if (kafka != null) {
      kafka.close();
    }
    testKit.shutdownTestKit();
  }

  static KafkaSettings settings(String name, String bootstrap) {
    return KafkaSettings.create(config)
        .withBootstrapServers(bootstrap)
        .withGroupId(name + "-group")
        .withTopics(new KafkaSettings.Topics(name + "-requests", name + "-results", name + "-dead-letter", true, 4, (short) -1));
  }

  static byte[] json(String id, String input, String exit) {
    return ("{\"id\":\"" + id + "\",\"input\":\"" + input + "\",\"exit\":\"" + exit + "\"}").getBytes(StandardCharsets.UTF_8);
  }

  static String sentence(int i) {
    return "record number " + i + " talks about " + (i % 7 == 0 ? "the weather in the mountains" : "a cat on a mat");
  }

  @Test
  void roundTripOf10000RecordsKeepsKeysIdsHeadersAndOrderPerKey() throws Exception {
    KafkaSettings s = settings("roundtrip", kafka.bootstrapServers());
    Topics.ensure(s);
    int n = 10_000;
    long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      for (int i = 0; i < n; i++) {
        producer.send(record(s.topics().requests(), "key-" + (i % 64), json("rt-" + i, sentence(i), i % 10 == 0 ? "deep" : "shallow")));
      }
    }
    KafkaPipeline pipeline = KafkaPipeline.start(testKit.system(), runtime, s);
    List<ConsumerRecord<byte[], byte[]>> results = TopicClient.readUntil(s.bootstrapServers(), s.topics().results(),
        r -> r.size() >= n, Duration.ofSeconds(90));
    double seconds = (System.nanoTime() - t0) / 1e9;
    pipeline.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);

    assertEquals(n, results.size());
    Map<String, Integer> lastSeqByKey = new HashMap<>();
    Set<String> ids = new HashSet<>();
    for (ConsumerRecord<byte[], byte[]> r : results) {
      JsonNode v = JSON.readTree(r.value());
      String id = v.get("id").asText();
      int i = Integer.parseInt(id.substring(3));
      assertTrue(ids.add(id), "duplicate " + id);
      String key = utf8(r.key());
      assertEquals("key-" + (i % 64), key, "key of " + id);
      int exit = i % 10 == 0 ? 6 : 2;
      assertEquals(exit, v.get("exit_layer").asInt(), id);
      assertEquals(String.valueOf(exit), header(r, KafkaHeaders.EXIT_LAYER));
      assertEquals("all-minilm-l6-v2", header(r, KafkaHeaders.MODEL));
      assertEquals("all-minilm-l6-v2", v.get("model").asText());
      assertEquals(384, v.get("embedding").size());
      assertTrue(v.get("tokens").asInt() > 3);
      assertTrue(v.get("latency_ms").asDouble() >= 0);
      Integer previous = lastSeqByKey.put(key, i);
      assertTrue(previous == null || previous < i, "order of key " + key + ": " + previous + " before " + i);
    }
    assertEquals(n, pipeline.stats().results());
    assertEquals(0, pipeline.stats().deadLetters());
    System.out.printf("round trip: %d records in %.1f s (%.0f records/s incl. start), stats %s%n",
        n, seconds, n / seconds, pipeline.stats());
  }
}
