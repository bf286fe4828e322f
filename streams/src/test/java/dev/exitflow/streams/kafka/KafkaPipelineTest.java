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
import dev.exitflow.streams.RuntimeFixture;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pipeline against a real (embedded, loopback) Kafka broker. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KafkaPipelineTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Config config;
  private static RuntimeFixture served;
  private static EncoderRuntime runtime;

  @BeforeAll
  static void start() {
    config = ConfigFactory.parseString("""
        exitflow.kafka.restart { min-backoff = 200ms, max-backoff = 2s }
        exitflow.kafka.commit.max-interval = 200ms
        exitflow.kafka.embedded.port = 0
        # Fail commits quickly while the broker is down, so the restart test also restarts the stream.
        pekko.kafka.consumer.commit-timeout = 2s
        exitflow.kafka.consumer-properties { "session.timeout.ms" = "6000" }
        """).withFallback(ConfigFactory.load());
    served = RuntimeFixture.withKafka(config);
    runtime = served.runtime();
  }

  @AfterAll
  static void stop() {
    if (served != null) {
      served.stop();
    }
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
    KafkaSettings s = settings("roundtrip", served.kafka().bootstrapServers());
    Topics.ensure(s);
    int n = 10_000;
    long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      for (int i = 0; i < n; i++) {
        producer.send(record(s.topics().requests(), "key-" + (i % 64), json("rt-" + i, sentence(i), i % 10 == 0 ? "deep" : "shallow")));
      }
    }
    KafkaPipeline pipeline = KafkaPipeline.start(served.system(), runtime, s);
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

  @Test
  void poisonRecordsGoToTheDeadLetterTopicWithTheirErrorAndTheStreamGoesOn() throws Exception {
    KafkaSettings s = settings("poison", served.kafka().bootstrapServers());
    Topics.ensure(s);
    Map<String, byte[]> poison = new java.util.LinkedHashMap<>();
    poison.put("invalid_json", "{\"input\": \"no closing brace\"".getBytes(StandardCharsets.UTF_8));
    poison.put("bad_utf8", new byte[] {'{', '"', 'i', 'n', (byte) 0xff, (byte) 0xfe, '"', '}'});
    poison.put("empty_input", "{\"id\":\"empty\",\"input\":\"   \"}".getBytes(StandardCharsets.UTF_8));
    poison.put("request_too_large", ("{\"input\":\"" + "word ".repeat(20_000) + "\"}").getBytes(StandardCharsets.UTF_8));
    poison.put("unknown_exit", "{\"input\":\"fine text\",\"exit\":\"7\"}".getBytes(StandardCharsets.UTF_8));
    poison.put("dimensions_out_of_range", "{\"input\":\"fine text\",\"dimensions\":4096}".getBytes(StandardCharsets.UTF_8));
    poison.put("invalid_type", "{\"input\":[1,2]}".getBytes(StandardCharsets.UTF_8));
    int good = 0;
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      producer.send(record(s.topics().requests(), "k", new byte[0])).get(); // no value at all: empty_input too
      for (Map.Entry<String, byte[]> p : poison.entrySet()) {
        for (int j = 0; j < 3; j++) {
          producer.send(record(s.topics().requests(), "good-" + good, json("good-" + good, sentence(good), "shallow")));
          good++;
        }
        producer.send(record(s.topics().requests(), "poison-" + p.getKey(), p.getValue()));
      }
      producer.send(record(s.topics().requests(), "good-" + good, json("good-" + good, sentence(good), "deep")));
      good++;
    }
    int goodCount = good;
    KafkaPipeline pipeline = KafkaPipeline.start(served.system(), runtime, s);
    List<ConsumerRecord<byte[], byte[]>> results = TopicClient.readUntil(s.bootstrapServers(), s.topics().results(),
        r -> r.size() >= goodCount, Duration.ofSeconds(60));
    List<ConsumerRecord<byte[], byte[]>> dead = TopicClient.readUntil(s.bootstrapServers(), s.topics().deadLetter(),
        r -> r.size() >= poison.size() + 1, Duration.ofSeconds(30));
    pipeline.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);

    assertEquals(goodCount, results.size());
    assertEquals(poison.size() + 1, dead.size());
    Map<String, String> codeByKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> d : dead) {
      String key = utf8(d.key());
      codeByKey.put(key, header(d, KafkaHeaders.ERROR_CODE));
      assertNotNull(header(d, KafkaHeaders.ERROR_MESSAGE));
      assertEquals(s.topics().requests(), header(d, KafkaHeaders.SOURCE_TOPIC));
      assertNotNull(header(d, KafkaHeaders.SOURCE_OFFSET));
      if (key.startsWith("poison-")) {
        assertTrue(java.util.Arrays.equals(poison.get(key.substring(7)), d.value()), "value kept for " + key);
      }
    }
    assertEquals("empty_input", codeByKey.get("k"));
    poison.keySet().forEach(code -> assertEquals(code, codeByKey.get("poison-" + code), "code of " + code));
    assertEquals(poison.size() + 1, pipeline.stats().deadLetters());
    System.out.printf("poison: %d dead letters %s, %d results%n", dead.size(), codeByKey, results.size());
  }

  @Test
  void atLeastOnceAcrossACrash() throws Exception {
    KafkaSettings s = settings("crash", served.kafka().bootstrapServers());
    Topics.ensure(s);
    int n = 3000;
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      for (int i = 0; i < n; i++) {
        producer.send(record(s.topics().requests(), "key-" + (i % 16), json("c-" + i, sentence(i), "shallow")));
      }
    }
    KafkaPipeline first = KafkaPipeline.start(served.system(), runtime, s);
    await(() -> first.stats().results() >= n / 3, Duration.ofSeconds(60), () -> "first run: " + first.stats());
    first.abort(); // no drain, no commit of what is in flight
    first.completion().handle((d, e) -> d).toCompletableFuture().get(10, TimeUnit.SECONDS);
    KafkaPipelineStats before = first.stats();

    KafkaPipeline second = KafkaPipeline.start(served.system(), runtime, s);
    List<ConsumerRecord<byte[], byte[]>> results = readEveryId(s, "c-", n);
    second.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
    String story = String.format("%d inputs, first run consumed %d and produced %d before the abort, second run "
        + "consumed %d; %d results, %d duplicates", n, before.consumed(), before.results(),
        second.stats().consumed(), results.size(), results.size() - n);
    assertTrue(before.results() > 0 && before.results() < n, "the crash came mid-stream: " + story);
    // The second run starts from the committed offsets, which never pass a result the first run
    // produced: it consumes at least every record the first left without a result.
    assertTrue(second.stats().consumed() >= n - before.results(), "the second run resumed the rest: " + story);
    assertTrue(results.size() >= n, story);
  }

  @Test
  void brokerRestartMidStreamLosesNothing() throws Exception {
    try (EmbeddedKafka own = EmbeddedKafka.start(config)) {
      KafkaSettings s = settings("restart", own.bootstrapServers());
      Topics.ensure(s);
      int half = 1500;
      produce(s, 0, half);
      KafkaPipeline pipeline = KafkaPipeline.start(served.system(), runtime, s);
      // Stop the broker early, with most of the first half still in flight: the commits of what
      // finishes during the outage time out (commit-timeout = 2s) and the stream restarts.
      await(() -> pipeline.stats().results() >= 100, Duration.ofSeconds(60), () -> "no results: " + pipeline.stats());
      own.stopBroker();
      await(() -> pipeline.stats().restarts() >= 1, Duration.ofSeconds(60),
          () -> "the pipeline never restarted while the broker was down: " + pipeline.stats());
      own.startBroker();
      produce(s, half, 2 * half);
      List<ConsumerRecord<byte[], byte[]>> results = readEveryId(s, "r-", 2 * half);
      pipeline.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertTrue(pipeline.stats().restarts() >= 1, "restarted: " + pipeline.stats());
      assertTrue(results.size() >= 2 * half, results.size() + " results, pipeline " + pipeline.stats());
    }
  }

  /** Polls {@code condition} until it holds; fails with {@code why} after {@code timeout}. */
  private static void await(java.util.function.BooleanSupplier condition, Duration timeout,
      java.util.function.Supplier<String> why) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(why.get());
      }
      Thread.sleep(20);
    }
  }

  /**
   * Scale-out: two Exitflow instances (each its own actor system and runtime) in one consumer group
   * share the request topic's partitions; one is stopped mid-stream, the other takes over its
   * partitions after the rebalance, and every request gets its result. Requests keep arriving
   * throughout, so neither instance can finish the topic before the group has settled.
   */
  @Test
  void twoInstancesShareTheTopicAndOneStoppingMidStreamLosesNothing() throws Exception {
    KafkaSettings s = settings("scaleout", served.kafka().bootstrapServers());
    Topics.ensure(s);
    RuntimeFixture other = RuntimeFixture.start(config);
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      other.runtime().ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      KafkaPipeline staying = KafkaPipeline.start(served.system(), runtime, s);
      KafkaPipeline leaving = KafkaPipeline.start(other.system(), other.runtime(), s);
      int n = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while ((staying.stats().results() < 200 || leaving.stats().results() < 200) && System.nanoTime() < deadline) {
        n = produce(producer, s, "s-", n, 40);
        Thread.sleep(50); // about 800 requests/s: more than one instance serves
      }
      assertTrue(staying.stats().results() >= 200 && leaving.stats().results() >= 200,
          "both instances got partitions: " + staying.stats() + " / " + leaving.stats());
      leaving.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
      KafkaPipelineStats leftAfter = leaving.stats();
      long stayingAtStop = staying.stats().results();
      n = produce(producer, s, "s-", n, 1000);

      List<ConsumerRecord<byte[], byte[]>> results = readEveryId(s, "s-", n);
      staying.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertTrue(staying.stats().results() > stayingAtStop, "the other instance took over its partitions");
      System.out.printf("scale-out: %d inputs; stopped instance produced %d, the other %d (%d at the stop); "
          + "%d results, %d duplicates%n", n, leftAfter.results(), staying.stats().results(), stayingAtStop,
          results.size(), results.size() - n);
    } finally {
      other.stop();
    }
  }

  /** Sends {@code count} more requests, ids {@code prefix}{@code from}..; returns the next id. */
  private static int produce(KafkaProducer<byte[], byte[]> producer, KafkaSettings s, String prefix, int from, int count) {
    for (int i = from; i < from + count; i++) {
      producer.send(record(s.topics().requests(), "key-" + (i % 32), json(prefix + i, sentence(i), "shallow")));
    }
    producer.flush();
    return from + count;
  }

  /**
   * Reads the results topic until ids {@code prefix}0 .. {@code prefix}(n-1) all have a result
   * (asserting that each does); returns every result read, duplicates included.
   */
  private static List<ConsumerRecord<byte[], byte[]>> readEveryId(KafkaSettings s, String prefix, int n) {
    Set<String> ids = new HashSet<>();
    List<ConsumerRecord<byte[], byte[]>> results = TopicClient.readUntil(s.bootstrapServers(), s.topics().results(), r -> {
      ids.clear();
      r.forEach(x -> ids.add(id(x)));
      return ids.size() >= n;
    }, Duration.ofSeconds(100));
    for (int i = 0; i < n; i++) {
      assertTrue(ids.contains(prefix + i), "no result for " + prefix + i);
    }
    return results;
  }

  private static void produce(KafkaSettings s, int from, int to) {
    try (KafkaProducer<byte[], byte[]> producer = TopicClient.producer(s.bootstrapServers())) {
      produce(producer, s, "r-", from, to - from);
    }
  }

  private static String id(ConsumerRecord<byte[], byte[]> r) {
    try {
      return JSON.readTree(r.value()).get("id").asText();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
