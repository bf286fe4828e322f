package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.Pooling;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.Collections;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * An {@code auto} request's deadline counts from when its caller submitted it, not from when the
 * scheduler got to it: time spent being tokenized or waiting in the scheduler's mailbox (long when
 * the node's cores are shared with another process) is gone from its budget, so admission refuses
 * it at once when the queue ahead would make it late, and serves it earliest-deadline-first.
 */
class DeadlineAdmissionTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final long MS = 1_000_000L;
  private static final int STAGES = 3;
  private static final int TOKENS = 256;

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private final RuntimeSettings settings = RuntimeSettings.create(ConfigFactory.load());
  private final StageBatcher[] batchers = new StageBatcher[STAGES];
  private final WorkerPool workers = new WorkerPool(STAGES, 2, 2, settings.busyWorkersPerNode(), ready -> {});
  // Plain heads at exits 2, 4, 6, auto allowed to leave at the first: its shallowest exit is stage 1.
  private final ExitRules rules = new ExitRules(List.of(2, 4, 6),
      Collections.nCopies(STAGES, new ExitHead(Pooling.MEAN, 8)), null, true);
  private final Admission admission;

  DeadlineAdmissionTest() {
    for (int s = 0; s < STAGES; s++) {
      batchers[s] = new StageBatcher(s, settings.batching(), Integer.MAX_VALUE);
      // Batches of 8 inputs of 256 tokens take 40 ms: 2 workers get through 102,400 tokens a second.
      batchers[s].recordBatch(8, 8 * TOKENS, 40 * MS, 0, false);
      workers.join(KIT.<StageWorker.Command>createTestProbe().ref(), s);
      workers.join(KIT.<StageWorker.Command>createTestProbe().ref(), s);
    }
    admission = new Admission(settings, rules, batchers, workers, new Replies(rules, RuntimeListener.NONE),
        RuntimeListener.NONE);
  }

  private static EmbeddingRequest auto() {
    return new EmbeddingRequest("text", ExitPolicy.Auto.INSTANCE, null, Priority.INTERACTIVE, null);
  }

  private static Pending pending(EmbeddingRequest r) {
    return new Pending(r, new TokenizedText(new long[TOKENS], new long[TOKENS], false),
        KIT.<StatusReply<EmbeddingResult>>createTestProbe().ref(), null, STAGES - 1);
  }

  @Test
  void timeWaitedBeforeAdmissionCountsAgainstTheDeadline() {
    long now = System.nanoTime();
    // 62 inputs ahead, submitted earlier than anything below: with one's own, 63 x 256 tokens at
    // 102,400 a second, about 158 ms, within the starting share (0.9) of the 250 ms auto deadline (225 ms).
    for (int i = 0; i < 62; i++) {
      batchers[0].offer(admission.prepare(pending(auto()), now - 300 * MS, now), now);
    }
    assertNull(admission.refusal(List.of(auto()), TOKENS, now, now), "submitted just now: 158 ms fits 225");
    Throwable late = admission.refusal(List.of(auto()), TOKENS, now - 100 * MS, now);
    assertInstanceOf(Overloaded.class, late, "submitted 100 ms ago: 158 ms more is past the 125 ms left of 225");
    assertTrue(late.getMessage().contains("it has already waited 100 ms"), late.getMessage());
  }

  @Test
  void aBulkRequestIsRefusedForItsOwnDeadlineButNotForASoftOneOrNone() {
    long now = System.nanoTime();
    for (int i = 0; i < 62; i++) { // about 158 ms ahead, as above
      batchers[0].offer(admission.prepare(pending(auto()), now - 300 * MS, now), now);
    }
    EmbeddingRequest bulk = auto().withPriority(Priority.BULK).withDeadlineMs(150);
    assertInstanceOf(Overloaded.class, admission.refusal(List.of(bulk), TOKENS, now, now),
        "its caller asked for 150 ms: 158 ms is past 0.9 of it");
    assertNull(admission.refusal(List.of(bulk.withSoftDeadline()), TOKENS, now, now),
        "a Kafka record's deadline, what its SLO leaves: served late rather than refused");
    assertNull(admission.refusal(List.of(auto().withPriority(Priority.BULK)), TOKENS, now, now),
        "bulk without a deadline of its own has none");
  }

  @Test
  void theDeadlineAndUrgencyCountFromSubmission() {
    long now = System.nanoTime();
    Pending p = admission.prepare(pending(auto()), now - 40 * MS, now);
    long deadline = settings.admission().defaultDeadline().toNanos();
    assertEquals(now - 40 * MS + deadline, p.deadlineNanos, "deadline from submission");
    assertEquals(p.deadlineNanos, p.urgencyNanos, "served earliest deadline first");
  }

  @Test
  void requestsFinishingLateLowerTheShareSoOneThatFitBeforeIsRefused() {
    long now = System.nanoTime();
    for (int i = 0; i < 62; i++) { // about 158 ms ahead, as above: within 0.9 of 250 ms
      batchers[0].offer(admission.prepare(pending(auto()), now - 300 * MS, now), now);
    }
    assertNull(admission.refusal(List.of(auto()), TOKENS, now, now));
    Pending late = admission.prepare(pending(auto()), now - 300 * MS, now);
    Pending bulk = admission.prepare(pending(auto().withPriority(Priority.BULK)), now - 300 * MS, now);
    for (int i = 0; i < 150; i++) { // each lowers the share by 0.002 x 0.99: from 0.9 to about 0.6
      admission.finished(late, now); // 300 ms after submission: past 0.9 of 250 ms
      admission.finished(bulk, now); // no deadline: admission could not have refused it, so it does not count
    }
    double share = admission.share.value();
    assertTrue(share < 0.63 && share >= settings.admission().minShare(), "share " + share);
    assertInstanceOf(Overloaded.class, admission.refusal(List.of(auto()), TOKENS, now, now),
        "158 ms is past " + share + " of 250 ms");
  }
}
