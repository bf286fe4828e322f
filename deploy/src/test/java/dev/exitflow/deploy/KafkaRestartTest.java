package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The default Kafka set-up keeps the at-least-once promise across restarts: the packaged jar with
 * the embedded broker (only its ports and data directory moved), 5,000 requests acknowledged by
 * the broker, {@code serve} stopped three times mid-way (SIGKILL, or SIGTERM) and restarted with
 * the same command each time: every request gets a result.
 */
class KafkaRestartTest {
  private static final int REQUESTS = 5_000;
  /** Each process is stopped once it has produced this many results. */
  private static final int RESULTS_BEFORE_STOP = 600;
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest(name = "SIG{0}")
  @ValueSource(strings = {"KILL", "TERM"})
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void everyAcknowledgedRequestIsAnsweredAcrossThreeRestarts(String signal) throws Exception {
    Path dir = Path.of("target/kafka-restart-" + signal.toLowerCase()).toAbsolutePath();
    Path data = dir.resolve("data");
    deleteRecursively(dir);
    int kafkaPort = ClusterProcesses.freePort();
    String bootstrap = "127.0.0.1:" + kafkaPort;

    ServeProcess serve = ServeProcess.start(dir, "serve-0.log", data, kafkaPort);
    try {
      String url = serve.awaitReady();
      serve.awaitLog("Kafka: requests from", 90);
      produce(bootstrap);
      for (int stop = 1; stop <= 3; stop++) {
        awaitResults(url, serve);
        if (signal.equals("KILL")) {
          serve.process.destroyForcibly();
          serve.process.waitFor(30, TimeUnit.SECONDS);
        } else {
          serve.process.destroy();
          assertEquals(0, serve.awaitExit(90), "serve exits 0 on SIGTERM");
        }
        serve = ServeProcess.start(dir, "serve-" + stop + ".log", data, kafkaPort);
        url = serve.awaitReady();
      }
      Map<String, Integer> answered = results(bootstrap);
      int duplicates = answered.values().stream().mapToInt(n -> n - 1).sum();
      System.out.printf("SIG%s x3: %d of %d requests answered, %d duplicates%n", signal, answered.size(), REQUESTS,
          duplicates);
      assertEquals(REQUESTS, answered.size(), "every acknowledged request has a result");
      serve.process.destroy();
      assertEquals(0, serve.awaitExit(90));
    } finally {
      serve.process.destroyForcibly();
    }
  }

  private static void produce(String bootstrap) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < REQUESTS; i++) {
        String value = JSON.writeValueAsString(Map.of("id", "r-" + i,
            "input", "request " + i + " asks how a restart treats the backlog of topic " + (i % 97)));
        acks.add(producer.send(new ProducerRecord<>("exitflow-requests", value)));
      }
      for (Future<RecordMetadata> ack : acks) {
        ack.get(60, TimeUnit.SECONDS); // acknowledged by the broker: from here on it must not be lost
      }
    }
  }

  /** Waits until this process has produced {@link #RESULTS_BEFORE_STOP} results. */
  private static void awaitResults(String url, ServeProcess serve) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      JsonNode kafka = ServeProcess.health(url).path("components").path("kafka");
      if (kafka.path("results").asLong() >= RESULTS_BEFORE_STOP) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no progress:\n" + java.nio.file.Files.readString(serve.log));
  }

  /** Reads the results topic from the start until every id has a result (or 3 minutes pass): results per id. */
  private static Map<String, Integer> results(String bootstrap) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    Map<String, Integer> seen = new HashMap<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo info : consumer.partitionsFor("exitflow-results", Duration.ofSeconds(30))) {
        partitions.add(new TopicPartition(info.topic(), info.partition()));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (seen.size() < REQUESTS && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          seen.merge(JSON.readTree(r.value()).path("id").asText(), 1, Integer::sum);
        }
      }
    }
    return seen;
  }

  static void deleteRecursively(Path dir) throws java.io.IOException {
    if (!java.nio.file.Files.exists(dir)) {
      return;
    }
    try (var files = java.nio.file.Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
