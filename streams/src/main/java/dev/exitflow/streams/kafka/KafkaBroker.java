package dev.exitflow.streams.kafka;

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

  /** The configured bootstrap servers if set; otherwise starts the embedded broker. */
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

  /** Stops the embedded broker, if one was started; an external cluster is left alone. */
  @Override
  public void close() {
    if (embedded != null) {
      embedded.close();
    }
  }
}
