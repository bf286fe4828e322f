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
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Creates the pipeline's topics when they are missing (exitflow.kafka.topics.create), and returns
 * only once every partition of them is served by its leader.
 *
 * <p>The wait matters: an idempotent producer that writes to a partition the broker has not opened
 * yet can have its first request refused (NOT_LEADER_OR_FOLLOWER) while a later one is appended;
 * the first is then retried with OUT_OF_ORDER_SEQUENCE_NUMBER until delivery.timeout.ms expires it
 * (KAFKA-15591; seen here with Kafka 4.3.1 when producing right after creating a topic).
 */
public final class Topics {
  private Topics() {}

  /** Does nothing when {@code topics.create} is off: the topics are then the cluster's business. */
  public static void ensure(KafkaSettings s) {
    if (!s.topics().create()) {
      return;
    }
    List<String> names = List.of(s.topics().requests(), s.topics().results(), s.topics().deadLetter())
        .stream().distinct().toList();
    try (Admin admin = Admin.create(adminProperties(s))) {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      Optional<Short> rf = s.topics().replicationFactor() < 0 ? Optional.empty() : Optional.of(s.topics().replicationFactor());
      List<NewTopic> missing = names.stream()
          .filter(t -> !existing.contains(t))
          .map(t -> new NewTopic(t, Optional.of(s.topics().partitions()), rf))
          .toList();
      if (!missing.isEmpty()) {
        try {
          admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
      awaitLeaders(admin, names);
    } catch (Exception e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException("could not set up Kafka topics " + names + " at " + s.bootstrapServers()
          + ": " + cause, cause);
    }
  }

  /**
   * Waits until the leader of every partition of {@code topics} answers a ListOffsets request,
   * which it can only once it has opened the partition (the admin client retries until then).
   */
  public static void awaitLeaders(Admin admin, List<String> topics) throws Exception {
    Map<String, TopicDescription> described = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (described == null) {
      try {
        described = admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100); // just created: not in the broker's metadata yet
      }
    }
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    described.forEach((name, d) -> d.partitions().forEach(p ->
        latest.put(new TopicPartition(name, p.partition()), OffsetSpec.latest())));
    admin.listOffsets(latest).all().get(60, TimeUnit.SECONDS);
  }

  /** Admin client properties: the bootstrap servers and the shared client properties (TLS, SASL). */
  public static Map<String, Object> adminProperties(KafkaSettings s) {
    Map<String, Object> p = new HashMap<>(s.clientProperties());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
    return p;
  }
}
