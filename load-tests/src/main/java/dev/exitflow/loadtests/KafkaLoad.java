package dev.exitflow.loadtests;

import dev.exitflow.streams.kafka.KafkaHeaders;
import dev.exitflow.streams.kafka.KafkaPipeline;
import dev.exitflow.streams.kafka.KafkaSettings;
import dev.exitflow.streams.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One Kafka load phase: starts a pipeline on its own topics, produces request records open-loop at
 * a fixed rate for a while, reads the results as they come (end-to-end latency from the moment
 * each record was sent, HdrHistogram in microseconds), samples the pipeline group's consumer lag,
 * then waits for the stragglers and counts what never came back.
 */
final class KafkaLoad {
  record Outcome(long produced, long distinct, long duplicates, double resultsPerS, Histogram latencyUs,
      long maxLag, long maxLagFirstHalf, long maxLagSecondHalf, Map<Integer, Long> exits, long lost) {}

  private KafkaLoad() {}

  static Outcome run(Harness h, KafkaSettings s, String exit, double rate, Duration length, Duration warmup)
      throws Exception {
    Topics.ensure(s);
    int capacity = (int) (rate * length.toSeconds() * 1.05) + 16;
    long[] sentAt = new long[capacity];
    BitSet seen = new BitSet(capacity);
    Histogram latency = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
    Map<Integer, Long> exits = new TreeMap<>();
    AtomicLong distinct = new AtomicLong();
    AtomicLong duplicates = new AtomicLong();
    AtomicLong inWindow = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    long start = System.nanoTime();
    long windowStart = start + warmup.toNanos();
    long end = start + length.toNanos();

    KafkaPipeline pipeline = KafkaPipeline.start(h.system, h.runtime, s);
    Thread reader = new Thread(() -> read(s, stop, record -> {
      long now = System.nanoTime();
      int i = index(record.value());
      synchronized (seen) {
        if (seen.get(i)) {
          duplicates.incrementAndGet();
          return;
        }
        seen.set(i);
        latency.recordValue(Math.max(0, (now - sentAt[i]) / 1000));
        String layer = header(record, KafkaHeaders.EXIT_LAYER);
        exits.merge(layer == null ? -1 : Integer.parseInt(layer), 1L, Long::sum);
      }
      distinct.incrementAndGet();
      if (now >= windowStart && now <= end) {
        inWindow.incrementAndGet();
      }
    }), "kafka-load-results");
    reader.start();
    List<long[]> lags = new ArrayList<>(); // {nanos since start, lag}
    Thread sampler = new Thread(() -> sampleLag(s, stop, start, lags), "kafka-load-lag");
    sampler.start();

    long produced = 0;
    Properties p = new Properties();
    p.putAll(s.producerProperties());
    p.put("bootstrap.servers", s.bootstrapServers());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      double gapNanos = 1e9 / rate;
      for (int i = 0; i < capacity; i++) {
        long due = start + (long) (i * gapNanos);
        if (due >= end) {
          break;
        }
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        byte[] value = ("{\"id\":\"L-" + i + "\",\"input\":" + quote(h.sentence(i)) + ",\"exit\":\"" + exit + "\"}")
            .getBytes(StandardCharsets.UTF_8);
        sentAt[i] = System.nanoTime();
        producer.send(new ProducerRecord<>(s.topics().requests(), ("k" + (i % 64)).getBytes(StandardCharsets.UTF_8), value));
        produced++;
      }
    }
    double resultsPerS = inWindow.get() / ((end - windowStart) / 1e9);
    long drainUntil = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (distinct.get() < produced && System.nanoTime() < drainUntil) {
      Thread.sleep(100);
    }
    stop.set(true);
    reader.join();
    sampler.join();
    pipeline.drainAndShutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);

    long half = length.toNanos() / 2;
    long maxLag = 0;
    long first = 0;
    long second = 0;
    synchronized (lags) {
      for (long[] l : lags) {
        if (l[0] <= length.toNanos()) {
          maxLag = Math.max(maxLag, l[1]);
          if (l[0] < half) {
            first = Math.max(first, l[1]);
          } else {
            second = Math.max(second, l[1]);
          }
        }
      }
    }
    return new Outcome(produced, distinct.get(), duplicates.get(), resultsPerS, latency, maxLag, first, second,
        exits, produced - distinct.get());
  }

  private static void read(KafkaSettings s, AtomicBoolean stop, java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    Properties p = new Properties();
    p.put("bootstrap.servers", s.bootstrapServers());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(s.topics().results(), Duration.ofSeconds(30)).stream()
          .map(i -> new TopicPartition(s.topics().results(), i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      while (!stop.get()) {
        c.poll(Duration.ofMillis(50)).forEach(each);
      }
    }
  }

  /** Consumer lag of the pipeline's group on the requests topic: end offsets minus committed, summed. */
  private static void sampleLag(KafkaSettings s, AtomicBoolean stop, long start, List<long[]> out) {
    Properties p = new Properties();
    p.put("bootstrap.servers", s.bootstrapServers());
    try (Admin admin = Admin.create(p)) {
      while (!stop.get()) {
        try {
          Map<TopicPartition, OffsetAndMetadata> committed =
              admin.listConsumerGroupOffsets(s.groupId()).partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
          List<TopicPartition> parts = admin.describeTopics(List.of(s.topics().requests())).allTopicNames()
              .get(5, TimeUnit.SECONDS).get(s.topics().requests()).partitions().stream()
              .map(i -> new TopicPartition(s.topics().requests(), i.partition())).toList();
          Map<TopicPartition, OffsetSpec> latest = new java.util.HashMap<>();
          parts.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
          Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
              admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
          long lag = 0;
          for (TopicPartition tp : parts) {
            OffsetAndMetadata c = committed.get(tp);
            lag += ends.get(tp).offset() - (c == null ? 0 : c.offset());
          }
          synchronized (out) {
            out.add(new long[] {System.nanoTime() - start, lag});
          }
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          // the group may not exist yet; sample again
          LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
        }
      }
    }
  }

  private static int index(byte[] value) {
    // Results start with {"id":"L-<n>", written by the pipeline's encoder: read it without a JSON parse.
    int i = 9; // after {"id":"L-
    int n = 0;
    while (value[i] != '"') {
      n = n * 10 + (value[i++] - '0');
    }
    return n;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
