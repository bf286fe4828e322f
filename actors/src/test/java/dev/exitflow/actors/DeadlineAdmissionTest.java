package dev.exitflow.actors;

import static dev.exitflow.actors.AdmissionFixture.MS;
import static dev.exitflow.actors.AdmissionFixture.STAGES;
import static dev.exitflow.actors.AdmissionFixture.TOKENS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.Pooling;
import dev.exitflow.model.runtime.ExitHead;
import java.util.Collections;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
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

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  // Plain heads at exits 2, 4, 6, auto allowed to leave at the first: its shallowest exit is stage 1.
  // Batches of 8 inputs of 256 tokens take 40 ms: 2 workers get through 102,400 tokens a second.
  private final AdmissionFixture runtime = new AdmissionFixture(KIT, RuntimeSettings.create(ConfigFactory.load()),
      new ExitRules(List.of(2, 4, 6), 0, Collections.nCopies(STAGES, new ExitHead(Pooling.MEAN, 8)), null, true), 40);
  private final StageBatcher[] batchers = runtime.batchers;
  private final Admission admission = runtime.admission;

  private static EmbeddingRequest auto() {
    return new EmbeddingRequest("text", ExitPolicy.Auto.INSTANCE, null, Priority.INTERACTIVE, null);
  }

  @Test
  void timeWaitedBeforeAdmissionCountsAgainstTheDeadline() {
    long now = System.nanoTime();
    // 62 inputs ahead, submitted earlier than anything below: with one's own, 63 x 256 tokens at
    // 102,400 a second, about 158 ms, within the starting share (0.9) of the 250 ms auto deadline (225 ms).
    for (int i = 0; i < 62; i++) {
      batchers[0].offer(admission.prepare(runtime.pending(auto()), now - 300 * MS, now), now);
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
      batchers[0].offer(admission.prepare(runtime.pending(auto()), now - 300 * MS, now), now);
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
    Pending p = admission.prepare(runtime.pending(auto()), now - 40 * MS, now);
    long deadline = runtime.settings.admission().defaultDeadline().toNanos();
    assertEquals(now - 40 * MS + deadline, p.deadlineNanos, "deadline from submission");
    assertEquals(p.deadlineNanos, p.urgencyNanos, "served earliest deadline first");
  }

  @Test
  void requestsFinishingLateLowerTheShareSoOneThatFitBeforeIsRefused() {
    long now = System.nanoTime();
    for (int i = 0; i < 62; i++) { // about 158 ms ahead, as above: within 0.9 of 250 ms
      batchers[0].offer(admission.prepare(runtime.pending(auto()), now - 300 * MS, now), now);
    }
    assertNull(admission.refusal(List.of(auto()), TOKENS, now, now));
    Pending late = admission.prepare(runtime.pending(auto()), now - 300 * MS, now);
    Pending bulk = admission.prepare(runtime.pending(auto().withPriority(Priority.BULK)), now - 300 * MS, now);
    for (int i = 0; i < 150; i++) { // each lowers the share by 0.002 x 0.99: from 0.9 to about 0.6
      admission.finished(late, now); // 300 ms after submission: past 0.9 of 250 ms
      admission.finished(bulk, now); // no deadline: admission could not have refused it, so it does not count
    }
    double share = admission.share.value();
    assertTrue(share < 0.63 && share >= runtime.settings.admission().minShare(), "share " + share);
    assertInstanceOf(Overloaded.class, admission.refusal(List.of(auto()), TOKENS, now, now),
        "158 ms is past " + share + " of 250 ms");
  }
}
