package dev.exitflow.streams.kafka;

import com.typesafe.config.Config;
import java.util.Optional;

/**
 * The one place that decides which broker Exitflow talks to: the configured bootstrap servers, or,
 * when none are configured, an embedded broker started here (and stopped by {@link #close()}).
 */
public final class KafkaBroker implements AutoCloseable {
  private final String bootstrapServers;
  private final EmbeddedKafka embedded;

  private KafkaBroker(String bootstrapServers, EmbeddedKafka embedded) {
    this.bootstrapServers = bootstrapServers;
    this.embedded = embedded;
  }

  /** {@code exitflow.kafka.bootstrap-servers} if set; otherwise starts the embedded broker. */
  public static KafkaBroker connect(Config config) {
    return connect(KafkaSettings.create(config));
  }

  public static KafkaBroker connect(KafkaSettings settings) {
    if (!settings.needsEmbeddedBroker()) {
      return new KafkaBroker(settings.bootstrapServers(), null);
    }
    EmbeddedKafka kafka = EmbeddedKafka.start(settings.embedded());
    return new KafkaBroker(kafka.bootstrapServers(), kafka);
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The embedded broker, when this process started one. */
  public Optional<EmbeddedKafka> embedded() {
    return Optional.ofNullable(embedded);
  }

  /** Stops the embedded broker, if one was started; an external cluster is left alone. */
  @Override
  public void close() {
    if (embedded != null) {
      embedded.close();
    }
  }
}
