package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.tokenize.TokenizedText;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The batcher on a manual clock: every limit, the length grouping and the rate estimate. */
class StageBatcherTest {
  private static final long MS = 1_000_000L;
  private final RuntimeSettings.Batching limits = new RuntimeSettings.Batching(4, 100, Duration.ofMillis(5));

  /** Batches of 4 (of {@code withDeadline} while a request with a deadline is queued) and 1,000 padded tokens. */
  private RuntimeSettings.Batching batchesOf4(double maxPaddingShare, int withDeadline) {
    return new RuntimeSettings.Batching(4, 1000, limits.maxQueueDelay(), limits.interactiveSlack(), limits.bulkSlack(),
        limits.bulkBesideInteractive(), 4, 1000, maxPaddingShare, withDeadline);
  }

  static Pending pending(int length) {
    return new Pending(EmbeddingRequest.of("x", ExitPolicy.Deep.INSTANCE),
        new TokenizedText(new long[length], new long[length], false), null, null, 2);
  }

  @Test
  void dueWhenFullByCount() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int i = 0; i < 3; i++) {
      b.offer(pending(5), 0);
    }
    assertFalse(b.due(0, false));
    b.offer(pending(5), 0);
    assertTrue(b.due(0, false));
    assertEquals(4, b.nextBatch(0).size());
    assertTrue(b.isEmpty());
  }

  @Test
  void dueWhenTheOldestHasWaitedTheMaximumDelay() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    b.offer(pending(5), 0);
    assertFalse(b.due(4 * MS, false));
    assertEquals(1 * MS, b.nanosUntilDue(4 * MS));
    assertTrue(b.due(5 * MS, false));
    assertTrue(b.due(0, true), "a flush sends what is there");
    List<Pending> batch = b.nextBatch(7 * MS);
    assertEquals(7 * MS, batch.get(0).queueNanos);
  }

  @Test
  void batchesStayWithinThePaddedTokenLimit() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int len : new int[] {30, 30, 30, 30}) {
      b.offer(pending(len), 0);
    }
    assertTrue(b.due(0, false));
    List<Pending> batch = b.nextBatch(0);
    assertEquals(3, batch.size(), "4 x 30 = 120 padded tokens exceeds 100");
    assertEquals(1, b.depth());
    // A single text longer than the limit still goes, alone.
    StageBatcher alone = new StageBatcher(0, limits, 100);
    alone.offer(pending(150), 0);
    alone.offer(pending(10), 0);
    assertEquals(1, alone.nextBatch(0).size());
  }

  @Test
  void groupsTheOldestWithTheClosestLengths() {
    StageBatcher b = new StageBatcher(0, new RuntimeSettings.Batching(3, 1000, Duration.ofMillis(5)), 100);
    int[] lengths = {10, 50, 11, 49, 12, 48};
    for (int i = 0; i < lengths.length; i++) {
      b.offer(pending(lengths[i]), i);
    }
    assertEquals(List.of(10, 11, 12), b.nextBatch(10).stream().map(Pending::length).toList());
    assertEquals(List.of(50, 49, 48), b.nextBatch(10).stream().map(Pending::length).toList());
  }

  @Test
  void aRequestThatWouldMakeTheBatchMostlyPaddingWaitsForAnother() {
    StageBatcher b = new StageBatcher(0, batchesOf4(0.2, 4), 100);
    int[] lengths = {10, 30, 11, 12};
    for (int i = 0; i < lengths.length; i++) {
      b.offer(pending(lengths[i]), i);
    }
    // With the 30 the batch would be 120 padded tokens for 63 real.
    assertEquals(List.of(10, 11, 12), b.nextBatch(10).stream().map(Pending::length).toList());
    assertEquals(List.of(30), b.nextBatch(10).stream().map(Pending::length).toList());
  }

  @Test
  void batchesAreShorterWhileARequestWithADeadlineIsQueued() {
    StageBatcher b = new StageBatcher(0, batchesOf4(1.0, 2), 100);
    for (int i = 0; i < 3; i++) {
      b.offer(pending(5), 0);
    }
    assertFalse(b.due(0, false), "3 without a deadline are not a batch of 4");
    Pending withDeadline = pending(5);
    withDeadline.deadlineNanos = 250 * MS;
    b.offer(withDeadline, 0);
    assertTrue(b.due(0, false));
    assertEquals(2, b.nextBatch(0).size());
    assertEquals(2, b.nextBatch(0).size());
    for (int i = 0; i < 4; i++) {
      b.offer(pending(5), 0);
    }
    assertEquals(4, b.nextBatch(0).size(), "no deadline queued any more: batches of 4 again");
  }

  @Test
  void refusesBeyondCapacity() {
    StageBatcher b = new StageBatcher(0, limits, 2);
    assertTrue(b.offer(pending(5), 0));
    assertTrue(b.offer(pending(5), 0));
    assertFalse(b.offer(pending(5), 0));
    assertEquals(2, b.depth());
  }

  @Test
  void predictsWaitFromTheMeasuredServiceRate() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    assertEquals(0, b.itemsPerSecond());
    b.recordBatch(4, 20, 10 * MS, 0, true); // 400 requests/s of 5 tokens
    assertEquals(400, b.itemsPerSecond(), 1e-9);
    for (int i = 0; i < 8; i++) {
      b.offer(pending(5), 0);
    }
    assertEquals(20 * MS, b.expectedWaitNanos(0, 1), MS / 100); // 8 queued at 400/s
    assertEquals(10 * MS, b.expectedWaitNanos(0, 2), MS / 100); // two workers
    assertEquals(30 * MS, b.expectedWaitNanos(30 * MS, 1), "the oldest's age when it is longer");
    assertEquals(10 * MS, b.expectedComputeNanos());
  }

  static Pending urgent(int length, long urgencyNanos) {
    Pending p = pending(length);
    p.urgencyNanos = urgencyNanos;
    return p;
  }

  @Test
  void theMostUrgentAreBatchedFirstWhateverTheirArrival() {
    StageBatcher b = new StageBatcher(0, limits, 100); // batches of 4
    for (int i = 0; i < 6; i++) {
      b.offer(urgent(5, 1000 * MS), 0); // e.g. a bulk job: due a second after arrival
    }
    Pending soon = urgent(5, 250 * MS);
    Pending sooner = urgent(10, 200 * MS);
    b.offer(soon, 2 * MS);
    b.offer(sooner, 3 * MS);
    List<Pending> first = b.nextBatch(10 * MS);
    assertEquals(sooner, first.get(0), "the seed is the earliest deadline");
    assertTrue(first.contains(soon));
    assertEquals(4, first.size(), "filled with the less urgent ones");
    assertEquals(4, b.depth());
  }

  @Test
  void aBatchIsFilledOnlyFromTheMostUrgentFewBatches() {
    StageBatcher b = new StageBatcher(0, limits, 100); // batches of 4: filled from the 16 most urgent
    for (int i = 0; i < 16; i++) {
      b.offer(urgent(30, i * MS), 0);
    }
    Pending sameLengthButLate = urgent(5, 100 * MS);
    b.offer(sameLengthButLate, 0);
    b.offer(urgent(5, 0), 0); // the seed
    List<Pending> batch = b.nextBatch(0);
    assertFalse(batch.contains(sameLengthButLate), "closest in length, but 16 more urgent ones wait");
  }

  @Test
  void anUrgentBatchCarriesOnlyCompanionsDueBySoon() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    Pending interactive = urgent(10, 200 * MS);
    Pending otherInteractive = urgent(12, 240 * MS);
    b.offer(interactive, 0);
    b.offer(otherInteractive, 0);
    for (int i = 0; i < 5; i++) {
      b.offer(urgent(10, 10_000 * MS), 0); // bulk lines of the same length, due in 10 s
    }
    assertEquals(List.of(interactive, otherInteractive), b.nextBatch(0, 250 * MS, 4, 100),
        "bulk work would add to the interactive requests' compute time");
    assertEquals(4, b.nextBatch(0).size(), "without a bound, the bulk lines fill a batch");
  }

  @Test
  void aBatchTakesNoMoreThanItsSizeBoundEvenWhenMoreWouldFit() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int i = 0; i < 6; i++) {
      b.offer(urgent(10, 10_000 * MS), 0);
    }
    assertEquals(2, b.nextBatch(0, Long.MAX_VALUE, 2, 100).size(), "a short bulk batch beside interactive traffic");
    assertEquals(4, b.nextBatch(0, Long.MAX_VALUE, 99, 100).size(), "never more than max-batch-size");
  }

  @Test
  void aBatchTakesNoMorePaddedTokensThanItsTokenBound() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int i = 0; i < 8; i++) {
      b.offer(urgent(30, 10_000 * MS), 0);
    }
    assertEquals(2, b.nextBatch(0, Long.MAX_VALUE, 4, 60).size(), "two texts of 30 tokens in 60");
    assertEquals(1, b.nextBatch(0, Long.MAX_VALUE, 4, 10).size(), "the seed alone even past the bound");
    assertEquals(3, b.nextBatch(0, Long.MAX_VALUE, 4, 1000).size(), "never more than max-padded-tokens (100)");
  }

  @Test
  void theTimeToGetThroughCountsHeldBatchesAndTheRequestsAtLeastAsUrgent() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    b.recordBatch(4, 20, 10 * MS, 0, true); // 400 requests/s of 5 tokens
    for (int i = 0; i < 8; i++) {
      b.offer(urgent(5, 1000 * MS), 0);
    }
    b.offer(urgent(5, 100 * MS), 0);
    assertEquals(15 * MS, b.expectedCompletionNanos(1, 250 * MS, 5), MS / 100,
        "itself and one ahead take 5 ms at 400/s, but a batch takes 10 ms after the 5 ms batching delay");
    assertEquals(25 * MS, b.expectedCompletionNanos(1, 2000 * MS, 5), MS / 100); // all 9 and itself
    b.nextBatch(0); // 4 leave the queue for a worker: they still go first
    assertEquals(25 * MS, b.expectedCompletionNanos(1, 2000 * MS, 5), MS / 100);
    b.recordBatch(4, 20, 10 * MS, 10 * MS, true);
    assertEquals(15 * MS, b.expectedCompletionNanos(1, 2000 * MS, 5), MS / 100); // 5 queued and itself
  }

  @Test
  void aQueueOfLongTextsIsPredictedToTakeLongerThanAsManyShortOnes() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int i = 0; i < 20; i++) {
      b.offer(pending(10), 0);
    }
    // Saturated by short texts: full batches of 4 x 10 tokens, one every 40 ms (100 requests, 1,000 tokens a second).
    for (int i = 1; i <= 4; i++) {
      b.nextBatch(i * 40 * MS);
      b.recordBatch(4, 40, 10 * MS, i * 40 * MS, true);
    }
    assertEquals(100, b.throughput(1), 1e-6);
    assertEquals(1000, b.tokenThroughput(1), 1e-6);
    assertEquals(50 * MS, b.expectedCompletionNanos(1, Long.MAX_VALUE, 10), MS / 100, "4 queued and itself, 50 tokens");
    b.drainAll();
    for (int i = 0; i < 4; i++) {
      b.offer(pending(25), 0); // as many requests, each 2.5x as long: 2.5x the time, not the same 50 ms
    }
    assertEquals(125 * MS, b.expectedCompletionNanos(1, Long.MAX_VALUE, 25), MS / 100, "125 tokens");
    assertEquals(100 * MS, b.queueDelayNanos(0, 1), MS / 100, "the controller's pressure counts tokens too");
    assertEquals(100 * MS, b.expectedWaitNanos(0, 1), MS / 100);
  }

  /** A reserve exit's stage: were every request ahead to leave there, its workers' compute rate counts, not the gaps. */
  @Test
  void leavingHereCountsTheComputeRateWhereTheBacklogCountsItsGaps() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int i = 0; i < 56; i++) {
      b.offer(pending(10), 0);
    }
    // Full batches of 4 x 10 tokens computed in 10 ms (4,000 tokens a second), one every 40 ms (1,000 a second).
    for (int i = 1; i <= 4; i++) {
      b.nextBatch(i * 40 * MS);
      b.recordBatch(4, 40, 10 * MS, i * 40 * MS, true);
    }
    assertEquals(410 * MS, b.expectedCompletionNanos(1, Long.MAX_VALUE, 10), MS / 100, "40 queued and itself at 1,000");
    assertEquals(102.5 * MS, b.leavingHereCompletionNanos(1, Long.MAX_VALUE, 10), MS / 100, "at 4,000");
    assertEquals(51.25 * MS, b.leavingHereCompletionNanos(2, Long.MAX_VALUE, 10), MS / 100, "two workers at once");
  }

  @Test
  void throughputWhileBackloggedCountsTheGapsBetweenBatches() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    for (int i = 0; i < 20; i++) {
      b.offer(pending(5), 0);
    }
    // Batches of 4 computed in 10 ms each (400/s while computing), but one finishes every 20 ms.
    for (int i = 1; i <= 4; i++) {
      b.nextBatch(i * 20 * MS);
      b.recordBatch(4, 20, 10 * MS, i * 20 * MS, true);
    }
    assertEquals(400, b.itemsPerSecond(), 1e-6);
    assertEquals(200, b.throughput(1), 1e-6, "what the stage gets through, gaps included");
    assertEquals(20 * MS, b.expectedCompletionNanos(1, Long.MAX_VALUE, 0), MS / 100); // 4 left at 200/s
  }

  @Test
  void batchesOfWhatArrivedMeanwhileDoNotMeasureTheThroughput() {
    StageBatcher b = new StageBatcher(0, limits, 100);
    // Below saturation: two requests arrive every 10 ms and each batch of 2 computes in 5 ms
    // (400/s). A batch ends with the next request already waiting, yet the 200/s between batches
    // is how fast requests arrive, not what the stage can do.
    b.offer(pending(5), 0);
    for (int i = 1; i <= 6; i++) {
      b.offer(pending(5), i * 10 * MS);
      assertEquals(2, b.nextBatch(i * 10 * MS).size());
      b.offer(pending(5), i * 10 * MS + 5 * MS);
      b.recordBatch(2, 10, 5 * MS, i * 10 * MS + 5 * MS, false);
    }
    assertEquals(400, b.throughput(1), 1e-6, "the compute rate, not the arrival rate");
  }
}
