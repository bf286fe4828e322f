package dev.exitflow.streams.kafka;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The pipeline's commit lag: records of the requests topic that the consumer group has not yet
 * committed (end offsets minus committed offsets, summed over partitions), the backlog a restart
 * would serve again or still has to serve. Measured with the admin client at most once per
 * {@link #REFRESH_NANOS}, in the background: {@link #latest()} never blocks a metrics scrape.
 */
final class ConsumerLag implements AutoCloseable {
  private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final KafkaSettings settings;
  private final AtomicLong value = new AtomicLong(-1);
  private final AtomicLong measuredAt = new AtomicLong(System.nanoTime() - REFRESH_NANOS);
  private final AtomicBoolean measuring = new AtomicBoolean();
  private volatile Admin admin;
  private volatile boolean closed;

  ConsumerLag(KafkaSettings settings) {
    this.settings = settings;
  }

  /** The last measurement (-1 before the first), starting a new one when it is older than the refresh interval. */
  long latest() {
    long now = System.nanoTime();
    if (!closed && now - measuredAt.get() >= REFRESH_NANOS && measuring.compareAndSet(false, true)) {
      measuredAt.set(now);
      measure();
    }
    return value.get();
  }

  private void measure() {
    try {
      Admin a = admin();
      a.listConsumerGroupOffsets(settings.groupId()).partitionsToOffsetAndMetadata().toCompletionStage()
          .thenCompose(committed -> {
            Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
            committed.keySet().stream().filter(tp -> tp.topic().equals(settings.topics().requests()))
                .forEach(tp -> ends.put(tp, OffsetSpec.latest()));
            return a.listOffsets(ends).all().toCompletionStage().thenApply(end -> sum(end, committed));
          })
          .whenComplete((lag, error) -> {
            if (error == null) {
              value.set(lag);
            }
            measuring.set(false);
          });
    } catch (RuntimeException e) {
      measuring.set(false);
    }
  }

  private static long sum(Map<TopicPartition, ListOffsetsResultInfo> end, Map<TopicPartition, OffsetAndMetadata> committed) {
    long total = 0;
    for (Map.Entry<TopicPartition, ListOffsetsResultInfo> e : end.entrySet()) {
      OffsetAndMetadata c = committed.get(e.getKey());
      total += Math.max(0, e.getValue().offset() - (c == null ? 0 : c.offset()));
    }
    return total;
  }

  private synchronized Admin admin() {
    if (admin == null) {
      admin = Admin.create(Topics.adminProperties(settings));
    }
    return admin;
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (admin != null) {
      admin.close(java.time.Duration.ofSeconds(2));
      admin = null;
    }
  }
}
