package dev.exitflow.streams.kafka;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/** Creates the pipeline's topics when they are missing (exitflow.kafka.topics.create). */
public final class Topics {
  private Topics() {}

  public static void ensure(KafkaSettings s) {
    try (Admin admin = Admin.create(adminProperties(s))) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      Optional<Short> rf = s.topics().replicationFactor() < 0 ? Optional.empty() : Optional.of(s.topics().replicationFactor());
      List<NewTopic> missing = List.of(s.topics().requests(), s.topics().results(), s.topics().deadLetter()).stream()
          .distinct()
          .filter(t -> !existing.contains(t))
          .map(t -> new NewTopic(t, Optional.of(s.topics().partitions()), rf))
          .toList();
      if (!missing.isEmpty()) {
        admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
      }
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("could not create Kafka topics: " + e.getCause(), e.getCause());
      }
    } catch (Exception e) {
      throw new IllegalStateException("could not create Kafka topics at " + s.bootstrapServers() + ": " + e, e);
    }
  }

  /** Admin client properties: the bootstrap servers and the shared client properties (TLS, SASL). */
  public static Map<String, Object> adminProperties(KafkaSettings s) {
    Map<String, Object> p = new HashMap<>(s.clientProperties());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
    return p;
  }
}
