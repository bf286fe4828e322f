package dev.exitflow.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.streams.kafka.KafkaPipeline;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `exitflow serve` with no bootstrap servers configured: an embedded broker, and the pipeline on it. */
class ServeWithKafkaTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void servesKafkaOnAnEmbeddedBrokerAndDrainsItOnShutdown() throws Exception {
    Config config = ConfigFactory.parseString(
        "exitflow.gateway { port = 0, kafka = on }\nexitflow.kafka.embedded.port = 0").withFallback(ConfigFactory.load());
    ExitflowService service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), GatewaySettings.create(config));
    KafkaPipeline kafka = service.kafka().orElseThrow().started().toCompletableFuture().get(90, TimeUnit.SECONDS);
    String servers = kafka.bootstrapServers();
    assertTrue(servers.startsWith("127.0.0.1:"), servers);

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < 20; i++) {
        producer.send(new ProducerRecord<>(kafka.settings().topics().requests(), "k" + (i % 3),
            "{\"id\": \"r" + i + "\", \"input\": \"record number " + i + "\", \"exit\": \"shallow\"}")).get();
      }
    }
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "serve-test-reader");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, JsonNode> byId = new HashMap<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(kafka.settings().topics().results()));
      long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (byId.size() < 20 && System.nanoTime() < until) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          JsonNode v = JSON.readTree(r.value());
          byId.put(v.get("id").asText(), v);
          assertEquals("2", new String(r.headers().lastHeader("exitflow-exit-layer").value(), StandardCharsets.UTF_8));
        }
      }
    }
    assertEquals(20, byId.size());
    assertEquals(2, byId.get("r7").get("exit_layer").asInt());
    service.shutdown().toCompletableFuture().get(90, TimeUnit.SECONDS);
    assertTrue(kafka.completion().toCompletableFuture().isDone(), "the pipeline drained before the system stopped");
  }
}
