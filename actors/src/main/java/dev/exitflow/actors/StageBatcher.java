package dev.exitflow.actors;

import dev.exitflow.model.runtime.TokenBudget;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;

/**
 * The queue and batcher of one stage (not an actor: the scheduler owns one per stage and calls it
 * from its own thread). Batches are due when full (by count or by tokens) or when the oldest
 * request has waited the maximum queue delay.
 *
 * <p>Requests are served earliest deadline first: a batch starts from the most urgent request and
 * is filled, among the few batches' worth of most urgent ones, with those closest to it in length,
 * so little compute is spent on padding and nothing urgent is passed over for long. A request
 * without a deadline counts as due a slack after its arrival, short for interactive and long for
 * bulk: a bulk job sharing the runtime yields to interactive requests, yet keeps moving.
 *
 * <p>It also measures the stage: queue depth, oldest age, batch sizes, the service rate while
 * computing and the throughput while saturated (which also counts the time between batches and
 * what other stages take of the cores); the exit router, admission and the depth controller use
 * them to predict a request's wait at this stage. Waits are predicted in tokens, not requests: a
 * batch on the CPU costs about its padded tokens, so a queue of long texts takes longer to get
 * through than as many short ones, and the prediction sees a burst of long texts as it arrives.
 */
final class StageBatcher {
  /** Weight of the newest batch in the moving averages of batch size, compute time and throughput. */
  private static final double EWMA = 0.2;
  /** Saturated batches measured before their throughput replaces the compute-time estimate. */
  private static final int BACKLOG_SAMPLES = 3;
  /** Batches' worth of the most urgent requests a batch is filled from. */
  private static final int FILL_WINDOW = 4;

  private final int stage;
  private final RuntimeSettings.Batching limits;
  private final int capacity;
  private final List<Pending> queue = new ArrayList<>(); // arrival order
  private long queuedTokens;
  /** Requests queued, by the stage they must reach (their target): what will still compute at later stages. */
  private int[] queuedByTarget = new int[0];
  /** Queued requests that have a deadline: while any is queued, batches are the shorter size. */
  private int queuedWithDeadline;
  /** Requests taken into batches that have not come back: running, or waiting at their worker; and their tokens. */
  private int inService;
  private long inServiceTokens;

  private long batches;
  private double meanBatchSize;
  private double meanBatchTokens;
  private double meanBatchNanos;
  /** When the last batch finished, and whether work was waiting then (the stage never idled since). */
  private long lastDoneNanos;
  private boolean backlogged;
  private long backlogBatches;
  private double backlogItems;
  private double backlogTokens;
  private double backlogNanos;

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
    counted(p, 1);
    return true;
  }

  /** Puts back, beyond capacity, a request whose batch was lost (its urgency keeps its place). */
  void requeue(Pending p, long now) {
    p.enqueuedNanos = now;
    queue.add(0, p);
    counted(p, 1);
  }

  private void counted(Pending p, int sign) {
    queuedTokens += sign * p.length();
    if (p.deadlineNanos != Long.MAX_VALUE) {
      queuedWithDeadline += sign;
    }
    countTarget(p, sign);
  }

  private void countTarget(Pending p, int by) {
    int target = Math.max(0, p.targetStage);
    if (target >= queuedByTarget.length) {
      queuedByTarget = Arrays.copyOf(queuedByTarget, target + 1);
    }
    queuedByTarget[target] += by;
  }

  /**
   * Most requests in the next batch: fewer while a request with a deadline is queued, since each
   * member of a batch waits for all of its compute.
   */
  private int batchSize() {
    return queuedWithDeadline > 0 ? Math.min(limits.maxBatchSize(), limits.maxBatchSizeWithDeadline())
        : limits.maxBatchSize();
  }

  int depth() {
    return queue.size();
  }

  /** Nothing queued here and no batch of this stage at a worker. */
  boolean isIdle() {
    return inService == 0 && isEmpty();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** The earliest urgency queued (call only when not empty). */
  long mostUrgentNanos() {
    long min = Long.MAX_VALUE;
    for (Pending p : queue) {
      min = Math.min(min, p.urgencyNanos);
    }
    return min;
  }

  long oldestAgeNanos(long now) {
    return queue.isEmpty() ? 0 : now - queue.get(0).enqueuedNanos;
  }

  /** A batch is due: full by count or tokens, the oldest has waited long enough, or {@code flush}. */
  boolean due(long now, boolean flush) {
    if (queue.isEmpty()) {
      return false;
    }
    return flush || full() || oldestAgeNanos(now) >= limits.maxQueueDelay().toNanos();
  }

  /** A full batch is queued, by count or by tokens: waiting longer would not make it larger. */
  boolean full() {
    return queue.size() >= batchSize() || queuedTokens >= limits.maxPaddedTokens();
  }

  /** Nanoseconds until the oldest request reaches the maximum queue delay (0 if past it). */
  long nanosUntilDue(long now) {
    return Math.max(0, limits.maxQueueDelay().toNanos() - oldestAgeNanos(now));
  }

  /** As {@link #nextBatch(long, long, int, int)} with any companions, up to the batch size limit. */
  List<Pending> nextBatch(long now) {
    return nextBatch(now, Long.MAX_VALUE, batchSize(), limits.maxPaddedTokens());
  }

  /**
   * Takes the next batch out of the queue: the most urgent request, then, among the
   * {@code FILL_WINDOW} batches' worth of most urgent ones due by {@code companionsDueBy}, those
   * closest to it in length (more urgent first among equals), while the batch stays within the
   * count, padded-token and padding-share limits, and at most {@code maxSize} requests and
   * {@code maxTokens} padded tokens, the seed alone even past them ({@link TokenBudget#fill}, the engine's grouping
   * too). (An interactive request is not made to carry bulk work: every companion adds to its
   * compute time.)
   */
  List<Pending> nextBatch(long now, long companionsDueBy, int maxSize, int maxTokens) {
    int size = Math.min(maxSize, batchSize());
    int tokens = Math.min(maxTokens, limits.maxPaddedTokens());
    List<Pending> byUrgency = new ArrayList<>(queue);
    byUrgency.sort(Comparator.comparingLong((Pending p) -> p.urgencyNanos));
    Pending seed = byUrgency.get(0);
    List<Pending> window = new ArrayList<>(byUrgency.subList(1, Math.min(byUrgency.size(), FILL_WINDOW * size)));
    window.removeIf(p -> p.urgencyNanos > companionsDueBy);
    List<Pending> batch = TokenBudget.fill(seed, window, Pending::length, size, tokens, limits.maxPaddingShare());
    queue.removeAll(new HashSet<>(batch));
    inService += batch.size();
    for (Pending p : batch) {
      inServiceTokens += p.length();
      counted(p, -1);
      p.queueNanos += now - p.enqueuedNanos;
    }
    return batch;
  }

  /** The tokens of a batch's members. */
  static long tokens(List<Pending> batch) {
    long n = 0;
    for (Pending p : batch) {
      n += p.length();
    }
    return n;
  }

  /** Removes and returns everything queued (for failing it on shutdown). */
  List<Pending> drainAll() {
    List<Pending> all = new ArrayList<>(queue);
    queue.clear();
    queuedTokens = 0;
    Arrays.fill(queuedByTarget, 0);
    queuedWithDeadline = 0;
    return all;
  }

  /** A batch of {@code size} requests and {@code tokens} tokens taken by {@link #nextBatch} is no longer held: it finished, failed or its worker left. */
  void released(int size, long tokens) {
    inService = Math.max(0, inService - size);
    inServiceTokens = Math.max(0, inServiceTokens - tokens);
  }

  /**
   * Feeds the rate estimates with a batch that finished at {@code now}. Called before the stage's
   * queue is served again, so a non-empty queue means the next batch starts at once. {@code full}:
   * the batch was taken from a queue holding a full batch. Only such batches measure the
   * throughput: below saturation each batch holds what arrived while the one before it ran, so
   * their rate is the arrival rate, not what the stage can do (under 2x overload the first stage's
   * estimate followed completions, a median 767/s against 761/s completed). {@code tokens}: the
   * members' tokens (not their padding: the rate in tokens a second then includes it).
   */
  void recordBatch(int size, long tokens, long computeNanos, long now, boolean full) {
    released(size, tokens);
    recordCompute(size, tokens, computeNanos);
    if (backlogged && full) {
      long interval = now - lastDoneNanos;
      if (backlogBatches++ == 0) {
        backlogItems = size;
        backlogTokens = tokens;
        backlogNanos = interval;
      } else {
        backlogItems += EWMA * (size - backlogItems);
        backlogTokens += EWMA * (tokens - backlogTokens);
        backlogNanos += EWMA * (interval - backlogNanos);
      }
    }
    lastDoneNanos = now;
    backlogged = !isEmpty();
  }

  /**
   * Feeds the compute estimates only, with a batch that ran here straight after the previous stage
   * at the same worker ({@link StageWorker.Run#through}): it never queued here, so the queue's
   * counts and throughput are not its.
   */
  void recordCompute(int size, long tokens, long computeNanos) {
    if (batches++ == 0) {
      meanBatchSize = size;
      meanBatchTokens = tokens;
      meanBatchNanos = computeNanos;
    } else {
      meanBatchSize += EWMA * (size - meanBatchSize);
      meanBatchTokens += EWMA * (tokens - meanBatchTokens);
      meanBatchNanos += EWMA * (computeNanos - meanBatchNanos);
    }
  }

  /** Requests per second one worker serves while computing, from recent batches; 0 before the first batch. */
  double itemsPerSecond() {
    return meanBatchNanos <= 0 ? 0 : meanBatchSize * 1e9 / meanBatchNanos;
  }

  /**
   * Requests per second the stage's {@code workers} get through while saturated: measured between
   * full batches that followed each other without a pause once there are a few, else the workers'
   * compute rate. 0 before the first batch.
   */
  double throughput(int workers) {
    if (backlogBatches >= BACKLOG_SAMPLES && backlogNanos > 0) {
      return backlogItems * 1e9 / backlogNanos;
    }
    return itemsPerSecond() * workers;
  }

  /** {@link #throughput} in tokens a second. */
  double tokenThroughput(int workers) {
    if (backlogBatches >= BACKLOG_SAMPLES && backlogNanos > 0) {
      return backlogTokens * 1e9 / backlogNanos;
    }
    return computeTokenThroughput(workers);
  }

  /** Tokens a second {@code workers} get through while computing, from recent batches; 0 before the first batch. */
  private double computeTokenThroughput(int workers) {
    return meanBatchNanos <= 0 ? 0 : meanBatchTokens * 1e9 / meanBatchNanos * workers;
  }

  /** Compute per request at this stage, from recent batches; 0 before the first batch. */
  double nanosPerRequest() {
    return meanBatchSize <= 0 ? 0 : meanBatchNanos / meanBatchSize;
  }

  /** Expected compute time of one batch at this stage. */
  long expectedComputeNanos() {
    return (long) meanBatchNanos;
  }

  /**
   * Requests here that are still to compute at {@code stage} (this stage or a later one): those
   * queued whose target stage is at least that far, and those in batches at the workers (whose
   * targets are not kept: they count as going on). An upper bound for {@code auto}, which may leave
   * earlier.
   */
  int stillToPass(int stage) {
    int n = inService;
    for (int target = Math.max(0, stage); target < queuedByTarget.length; target++) {
      n += queuedByTarget[target];
    }
    return n;
  }

  /**
   * Compute this stage's batches take for {@code requests} more requests, one batch at a time: the
   * batches they make at the recent mean batch size, rounded up, times a batch's expected compute;
   * 0 before the first batch.
   */
  long computeNanosFor(int requests) {
    if (requests <= 0 || batches == 0) {
      return 0;
    }
    return (long) Math.ceil(requests / Math.max(1, meanBatchSize)) * expectedComputeNanos();
  }

  /**
   * Expected wait before a request arriving now starts computing here: the queue ahead of it and
   * the batches its workers hold, their tokens at the measured throughput, or the oldest request's
   * age if that is longer.
   */
  long expectedWaitNanos(long now, int workers) {
    return Math.max(drainTokensNanos(inServiceTokens + queuedTokens, workers), oldestAgeNanos(now));
  }

  /**
   * The queueing delay here: the queue's tokens at the measured throughput, or the oldest request's
   * age if that is longer (the depth controller's pressure; the batches at the workers are not queueing).
   */
  long queueDelayNanos(long now, int workers) {
    return Math.max(drainTokensNanos(queuedTokens, workers), oldestAgeNanos(now));
  }

  /**
   * Expected time until {@code extraTokens} more tokens of urgency {@code urgencyNanos} arriving now
   * are through this stage: the batches its workers hold and the queued requests at least as urgent
   * go first, their tokens all at the measured throughput (which includes compute); at least one
   * batch's compute after the batching delay.
   */
  long expectedCompletionNanos(int workers, long urgencyNanos, long extraTokens) {
    return Math.max(drainTokensNanos(tokensAhead(urgencyNanos, extraTokens), workers), oneBatchNanos());
  }

  /** The least a request waits to be through this stage: the batching delay, then one batch's compute. */
  private long oneBatchNanos() {
    return expectedComputeNanos() + limits.maxQueueDelay().toNanos();
  }

  /** The tokens of the batches at the workers, of the queued requests at least as urgent, and {@code extraTokens}. */
  private long tokensAhead(long urgencyNanos, long extraTokens) {
    long ahead = inServiceTokens + extraTokens;
    for (Pending p : queue) {
      if (p.urgencyNanos <= urgencyNanos) {
        ahead += p.length();
      }
    }
    return ahead;
  }

  /**
   * {@link #expectedCompletionNanos} if every request ahead left at this stage's exit: their tokens
   * at the rate its workers compute this stage alone, all of them at once. For a reserve exit's
   * stage, whose batches usually run on through the next stage ({@link StageWorker.Run#through}),
   * so that the measured throughput is theirs: the queue drains this fast once it is at risk.
   */
  long leavingHereCompletionNanos(int workers, long urgencyNanos, long extraTokens) {
    return Math.max(nanosFor(tokensAhead(urgencyNanos, extraTokens), computeTokenThroughput(workers)),
        oneBatchNanos());
  }

  /** {@link #expectedCompletionNanos} with nothing ahead: what {@code ownTokens} take on an idle stage. */
  long idleCompletionNanos(int workers, long ownTokens) {
    return Math.max(drainTokensNanos(ownTokens, workers), oneBatchNanos());
  }

  /** Time for this stage's workers to get through {@code requests} at the measured throughput; 0 before the first batch. */
  long drainNanos(int requests, int workers) {
    double rate = throughput(workers);
    return rate <= 0 ? 0 : (long) (requests / rate * 1e9);
  }

  /** Time for this stage's workers to get through {@code tokens} at the measured throughput; 0 before the first batch. */
  long drainTokensNanos(long tokens, int workers) {
    return nanosFor(tokens, tokenThroughput(workers));
  }

  /** Time to get through {@code tokens} at {@code tokensPerSecond}; 0 when the rate is not known yet. */
  private static long nanosFor(long tokens, double tokensPerSecond) {
    return tokensPerSecond <= 0 ? 0 : (long) (tokens / tokensPerSecond * 1e9);
  }

  StageStats stats(long now, int workers) {
    return new StageStats(stage, depth(), oldestAgeNanos(now) / 1e6, meanBatchSize, throughput(workers),
        queueDelayNanos(now, workers) / 1e6, batches);
  }
}
