package dev.exitflow.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.streams.kafka.KafkaSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "consume", mixinStandardHelpOptions = true,
    description = "Print the records of the Kafka results topic (or --dead-letter) from the beginning, one JSON "
        + "object per line: topic, partition, offset, key, headers and value. Uses no consumer group.")
final class ConsumeCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--topic", description = "Topic; default: exitflow.kafka.topics.results")
  String topic;

  @Option(names = "--dead-letter", description = "Read the dead-letter topic (exitflow.kafka.topics.dead-letter)")
  boolean deadLetter;

  @Option(names = "--count", description = "Stop after this many records")
  Integer count;

  @Option(names = "--idle-seconds", defaultValue = "5",
      description = "Stop after this long without a new record (default: ${DEFAULT-VALUE}; 0 = never)")
  int idleSeconds;

  @Option(names = "--full", description = "Print embeddings in full (default: their length only)")
  boolean full;

  @Mixin KafkaOptions kafka;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    KafkaSettings settings = kafka.settings();
    String target = topic != null ? topic : deadLetter ? settings.topics().deadLetter() : settings.topics().results();
    int printed = 0;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
        kafka.clientProperties(settings.consumerProperties()), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(target, Duration.ofSeconds(30)).stream()
          .map(p -> new TopicPartition(target, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long lastRecord = System.nanoTime();
      while (count == null || printed < count) {
        var records = consumer.poll(Duration.ofMillis(500));
        if (records.isEmpty() && idleSeconds > 0 && System.nanoTime() - lastRecord > idleSeconds * 1_000_000_000L) {
          break;
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
          lastRecord = System.nanoTime();
          spec.commandLine().getOut().println(JSON.writeValueAsString(describe(r)));
          if (count != null && ++printed >= count) {
            break;
          }
        }
      }
    }
    return 0;
  }

  private ObjectNode describe(ConsumerRecord<byte[], byte[]> r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("topic", r.topic());
    o.put("partition", r.partition());
    o.put("offset", r.offset());
    o.put("key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
    ObjectNode headers = o.putObject("headers");
    for (Header h : r.headers()) {
      headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8));
    }
    String text = r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8);
    try {
      JsonNode value = JSON.readTree(text);
      if (!full && value != null && value.isObject() && value.has("embedding")) {
        JsonNode e = value.get("embedding");
        ((ObjectNode) value).put("embedding", e.isArray() ? e.size() + " floats" : e.asText().length() + " base64 chars");
      }
      o.set("value", value);
    } catch (Exception notJson) {
      o.put("value", text);
    }
    return o;
  }
}
