package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Retry-After of a request refused at the in-flight limit, from measured stages: a burst that has
 * not started leaving is counted through every stage's batches in series under the node's budget
 * of busy workers; while requests leave steadily, the rate they leave at decides.
 */
class RetryAfterTest {
  private static final ActorTestKit KIT = ActorTestKit.create();

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  /** Batches of 8 inputs of 256 tokens take 100 ms at every stage; {@code busy} workers compute at once. */
  private static final class Runtime extends AdmissionFixture {
    Runtime(int busy) {
      super(KIT, RuntimeSettings.create(ConfigFactory.parseString("exitflow.actors { busy-workers-per-node = " + busy
          + ", admission { first-stage-queue-capacity = 64, max-in-flight = 64 } }").withFallback(ConfigFactory.load())),
          null, 100);
    }

    /** {@code n} inputs at the deep exit admitted together, queued at {@code stage}. */
    List<Pending> admit(int n, int stage, long now) {
      List<Pending> inputs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Pending p = pending(EmbeddingRequest.of("long", ExitPolicy.Deep.INSTANCE));
        inputs.add(p);
        batchers[stage].offer(p, now);
      }
      replies.admitted(inputs);
      return inputs;
    }

    long retryAfterMs(int n, long now) {
      return admission.retryAfter(n, replies.inFlight, now).toMillis();
    }
  }

  @Test
  void aBurstIsCountedThroughEveryStagesBatchesInSeries() {
    long now = System.nanoTime();
    Runtime two = new Runtime(2);
    assertEquals(2, two.workers.computeCapacity());
    two.admit(64, 0, now);
    // 8 batches at each stage, 2 at once: the first input leaves after the first two stages' 16
    // batches (8 batch times) and one at the last, 900 ms. Counting only each stage's compute once
    // (the furthest inputs' remaining stages) said 300 ms.
    assertEquals(900, two.retryAfterMs(8, now));

    Runtime one = new Runtime(1);
    assertEquals(1, one.workers.computeCapacity());
    one.admit(64, 0, now);
    assertEquals(1700, one.retryAfterMs(8, now), "one batch at a time: 16 batch times and one");

    Runtime halfway = new Runtime(2);
    halfway.admit(64, 1, now); // the burst has passed the first stage
    assertEquals(500, halfway.retryAfterMs(8, now), "8 batches at the second stage, 2 at once, then one");
  }

  @Test
  void whileRequestsLeaveSteadilyTheirRateDecidesNotTheWorkInSeries() {
    long now = System.nanoTime();
    Runtime r = new Runtime(2);
    // 64 in flight at the later stages, and 64 admitted after them have just left: not a burst.
    r.admit(32, 1, now);
    r.admit(32, 2, now);
    r.admit(64, 0, now);
    for (Pending p : r.batchers[0].drainAll()) {
      r.replies.fail(p, new IllegalStateException("left"));
    }
    double perSecond = r.replies.leavingPerSecond(System.nanoTime());
    assertTrue(perSecond > 60 && perSecond <= 64, "64 left within the rate's 1 s time constant: " + perSecond);
    long expected = Math.round(8 / perSecond * 1000); // 8 over the limit at that rate, about 125 ms
    long retryAfter = r.retryAfterMs(8, System.nanoTime());
    assertTrue(Math.abs(retryAfter - expected) <= 2, "Retry-After " + retryAfter + " ms, at the rate " + expected);
    // Taken for a burst, the same state would say the second stage's 4 batches and one at the last: 300 ms.
    assertTrue(retryAfter < 200, "Retry-After " + retryAfter);
  }
}
