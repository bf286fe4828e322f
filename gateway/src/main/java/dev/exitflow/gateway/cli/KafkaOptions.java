package dev.exitflow.gateway.cli;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.streams.kafka.KafkaSettings;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --bootstrap-servers}, shared by produce and consume; the rest comes from exitflow.kafka. */
final class KafkaOptions {
  @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT[,...]",
      description = "Kafka brokers; default: exitflow.kafka.bootstrap-servers, or the embedded broker's "
          + "address (exitflow.kafka.embedded.host:port) when none are configured")
  String bootstrapServers;

  private KafkaSettings settings;

  KafkaSettings settings() {
    if (settings == null) {
      settings = KafkaSettings.create(ConfigFactory.load());
    }
    return settings;
  }

  String bootstrap() {
    return bootstrapServers != null ? bootstrapServers : settings().clientBootstrapServers();
  }

  /** kafka-clients properties: the shared client properties (TLS, SASL) and the bootstrap servers. */
  Map<String, Object> clientProperties(Map<String, String> specific) {
    Map<String, Object> p = new HashMap<>(specific);
    p.put("bootstrap.servers", bootstrap());
    return p;
  }
}
