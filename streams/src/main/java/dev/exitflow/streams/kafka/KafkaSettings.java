package dev.exitflow.streams.kafka;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.streams.request.RequestLimits;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The pipeline's settings, read from {@code exitflow.kafka} (see the module's reference.conf), and
 * the request limits every transport shares ({@code exitflow.requests}).
 */
public record KafkaSettings(
    String bootstrapServers,
    Topics topics,
    String groupId,
    RecordFormat recordFormat,
    EmbeddingEncoding embeddingEncoding,
    ExitPolicy defaultExit,
    Priority priority,
    Duration slo,
    int maxRecordBytes,
    int parallelism,
    int reorderWindow,
    Duration overloadMinBackoff,
    Commit commit,
    Restart restart,
    Map<String, String> consumerProperties,
    Map<String, String> producerProperties,
    Map<String, String> clientProperties,
    EmbeddedKafka.Settings embedded,
    RequestLimits requestLimits) {

  public enum RecordFormat { JSON, TEXT }

  public enum EmbeddingEncoding { FLOAT, BASE64 }

  public record Topics(String requests, String results, String deadLetter, boolean create, int partitions,
      short replicationFactor) {}

  public record Commit(int maxBatch, Duration maxInterval, int parallelism) {}

  /** Backoff of the stream's restarts and of start attempts; how long a start may take before it is an error. */
  public record Restart(Duration minBackoff, Duration maxBackoff, double randomFactor, Duration startTimeout) {}

  public static KafkaSettings create(Config root) {
    Config c = root.getConfig("exitflow.kafka");
    Map<String, String> client = properties(c.getConfig("client-properties"));
    Map<String, String> consumer = new LinkedHashMap<>(client);
    consumer.putAll(properties(c.getConfig("consumer-properties")));
    Map<String, String> producer = new LinkedHashMap<>(client);
    producer.putAll(properties(c.getConfig("producer-properties")));
    Config t = c.getConfig("topics");
    return new KafkaSettings(
        c.getString("bootstrap-servers").trim(),
        new Topics(t.getString("requests"), t.getString("results"), t.getString("dead-letter"),
            t.getBoolean("create"), t.getInt("partitions"), (short) t.getInt("replication-factor")),
        c.getString("group-id"),
        RecordFormat.valueOf(c.getString("format.record").toUpperCase(Locale.ROOT)),
        EmbeddingEncoding.valueOf(c.getString("format.embedding").toUpperCase(Locale.ROOT)),
        ExitPolicy.parse(c.getString("requests.default-exit")),
        Priority.parse(c.getString("requests.priority")),
        c.getDuration("requests.slo"),
        c.getInt("requests.max-record-bytes"),
        c.getInt("parallelism"),
        c.getInt("reorder-window"),
        c.getDuration("overload-min-backoff"),
        new Commit(c.getInt("commit.max-batch"), c.getDuration("commit.max-interval"), c.getInt("commit.parallelism")),
        new Restart(c.getDuration("restart.min-backoff"), c.getDuration("restart.max-backoff"),
            c.getDouble("restart.random-factor"), c.getDuration("restart.start-timeout")),
        Map.copyOf(consumer),
        Map.copyOf(producer),
        Map.copyOf(client),
        EmbeddedKafka.Settings.create(c.getConfig("embedded")),
        RequestLimits.create(root));
  }

  /** Whether an embedded broker has to be started: no bootstrap servers are configured. */
  public boolean needsEmbeddedBroker() {
    return bootstrapServers.isEmpty();
  }

  /**
   * Where a client started by hand (produce, consume) finds the broker: the configured bootstrap
   * servers, or else the embedded broker's configured address.
   */
  public String clientBootstrapServers() {
    return needsEmbeddedBroker() ? embedded.host() + ":" + embedded.port() : bootstrapServers;
  }

  public KafkaSettings withBootstrapServers(String servers) {
    return new KafkaSettings(servers, topics, groupId, recordFormat, embeddingEncoding, defaultExit, priority, slo,
        maxRecordBytes, parallelism, reorderWindow, overloadMinBackoff, commit, restart, consumerProperties, producerProperties,
        clientProperties, embedded, requestLimits);
  }

  public KafkaSettings withTopics(Topics t) {
    return new KafkaSettings(bootstrapServers, t, groupId, recordFormat, embeddingEncoding, defaultExit, priority, slo,
        maxRecordBytes, parallelism, reorderWindow, overloadMinBackoff, commit, restart, consumerProperties, producerProperties,
        clientProperties, embedded, requestLimits);
  }

  public KafkaSettings withGroupId(String g) {
    return new KafkaSettings(bootstrapServers, topics, g, recordFormat, embeddingEncoding, defaultExit, priority, slo,
        maxRecordBytes, parallelism, reorderWindow, overloadMinBackoff, commit, restart, consumerProperties, producerProperties,
        clientProperties, embedded, requestLimits);
  }

  /** A config object's entries as kafka-clients properties: path segments joined by dots. */
  static Map<String, String> properties(Config c) {
    Map<String, String> out = new LinkedHashMap<>();
    c.entrySet().forEach(e ->
        out.put(String.join(".", ConfigUtil.splitPath(e.getKey())), String.valueOf(e.getValue().unwrapped())));
    return out;
  }
}
