package dev.exitflow.actors;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The queue and batcher of one stage (not an actor: the scheduler owns one per stage and calls it
 * from its own thread). Batches are due when full (by count or by tokens) or when the oldest
 * request has waited the maximum queue delay. A batch starts from the oldest request and is filled
 * with the requests closest to it in length, so little compute is spent on padding.
 *
 * <p>It also measures the stage: queue depth, oldest age, batch sizes and service rate, which the
 * exit router and the depth controller use to predict a request's wait at this stage.
 */
final class StageBatcher {
  /** Weight of the newest batch in the moving averages of batch size and compute time. */
  private static final double EWMA = 0.2;

  private final int stage;
  private final RuntimeSettings.Batching limits;
  private final int capacity;
  private final List<Pending> queue = new ArrayList<>(); // arrival order
  private long queuedTokens;

  private long batches;
  private double meanBatchSize;
  private double meanBatchNanos;

  StageBatcher(int stage, RuntimeSettings.Batching limits, int capacity) {
    this.stage = stage;
    this.limits = limits;
    this.capacity = capacity;
  }

  /** Queues a request; false when the queue is at capacity. */
  boolean offer(Pending p, long now) {
    if (queue.size() >= capacity) {
      return false;
    }
    p.enqueuedNanos = now;
    queue.add(p);
    queuedTokens += p.length();
    return true;
  }

  /** Puts back, at the head of the queue and beyond its capacity, a request whose batch was lost. */
  void requeue(Pending p, long now) {
    p.enqueuedNanos = now;
    queue.add(0, p);
    queuedTokens += p.length();
  }

  int depth() {
    return queue.size();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  long oldestAgeNanos(long now) {
    return queue.isEmpty() ? 0 : now - queue.get(0).enqueuedNanos;
  }

  /** A batch is due: full by count or tokens, the oldest has waited long enough, or {@code flush}. */
  boolean due(long now, boolean flush) {
    if (queue.isEmpty()) {
      return false;
    }
    return flush
        || queue.size() >= limits.maxBatchSize()
        || queuedTokens >= limits.maxPaddedTokens()
        || oldestAgeNanos(now) >= limits.maxQueueDelay().toNanos();
  }

  /** Nanoseconds until the oldest request reaches the maximum queue delay (0 if past it). */
  long nanosUntilDue(long now) {
    return Math.max(0, limits.maxQueueDelay().toNanos() - oldestAgeNanos(now));
  }

  /**
   * Takes the next batch out of the queue: the oldest request, then those closest to it in length
   * (older first among equals) while the batch stays within the count and padded-token limits.
   */
  List<Pending> nextBatch(long now) {
    Pending seed = queue.get(0);
    List<Pending> byCloseness = new ArrayList<>(queue.subList(1, queue.size()));
    byCloseness.sort(Comparator.comparingInt((Pending p) -> Math.abs(p.length() - seed.length())));
    List<Pending> batch = new ArrayList<>();
    batch.add(seed);
    int longest = seed.length();
    for (Pending p : byCloseness) {
      if (batch.size() >= limits.maxBatchSize()) {
        break;
      }
      int newLongest = Math.max(longest, p.length());
      if ((long) newLongest * (batch.size() + 1) > limits.maxPaddedTokens()) {
        continue;
      }
      batch.add(p);
      longest = newLongest;
    }
    queue.removeAll(new java.util.HashSet<>(batch));
    for (Pending p : batch) {
      queuedTokens -= p.length();
      p.queueNanos += now - p.enqueuedNanos;
    }
    return batch;
  }

  /** Removes and returns everything queued (for failing it on shutdown). */
  List<Pending> drainAll() {
    List<Pending> all = new ArrayList<>(queue);
    queue.clear();
    queuedTokens = 0;
    return all;
  }

  /** Feeds the service-rate estimate with a finished batch. */
  void recordBatch(int size, long computeNanos) {
    if (batches++ == 0) {
      meanBatchSize = size;
      meanBatchNanos = computeNanos;
    } else {
      meanBatchSize += EWMA * (size - meanBatchSize);
      meanBatchNanos += EWMA * (computeNanos - meanBatchNanos);
    }
  }

  /** Requests per second one worker serves, from recent batches; 0 before the first batch. */
  double itemsPerSecond() {
    return meanBatchNanos <= 0 ? 0 : meanBatchSize * 1e9 / meanBatchNanos;
  }

  /** Expected compute time of one batch at this stage. */
  long expectedComputeNanos() {
    return (long) meanBatchNanos;
  }

  /**
   * Expected wait before a request arriving now starts computing here: the queue ahead of it at
   * the measured rate of {@code workers} workers, or the oldest request's age if that is longer.
   */
  long expectedWaitNanos(long now, int workers) {
    double rate = itemsPerSecond() * workers;
    long drain = rate <= 0 ? 0 : (long) (queue.size() / rate * 1e9);
    return Math.max(drain, oldestAgeNanos(now));
  }

  StageStats stats(long now, int workers) {
    return new StageStats(stage, queue.size(), oldestAgeNanos(now) / 1e6, meanBatchSize,
        itemsPerSecond() * workers, expectedWaitNanos(now, workers) / 1e6, batches);
  }
}
