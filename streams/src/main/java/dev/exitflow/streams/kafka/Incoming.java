package dev.exitflow.streams.kafka;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.model.tokenize.TextWindows;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.pekko.kafka.ConsumerMessage.CommittableOffset;

/**
 * The context a request record carries through the inference flow: its offset (committed once its
 * result or dead letter is produced), the record itself (key, value and headers to pass on), the
 * request id, the request (null when the record could not be decoded; kept to submit it again after
 * an overload) with its windows in chunk mode (else null), when it was decoded (for {@code latency_ms}), and its place in consumption order
 * (to put results back in that order).
 */
record Incoming(CommittableOffset offset, ConsumerRecord<byte[], byte[]> record, String id,
    EmbeddingRequest request, TextWindows windows, long decodedAtNanos, long seq) {
  /** The id of a record that names none: {@code topic-partition-offset}, unique in the cluster. */
  static String defaultId(ConsumerRecord<?, ?> r) {
    return r.topic() + "-" + r.partition() + "-" + r.offset();
  }
}
