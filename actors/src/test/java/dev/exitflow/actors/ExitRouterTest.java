package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.tokenize.TokenizedText;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExitRouterTest {
  private static final long MS = 1_000_000L;

  /** Admitted at time 0 with the request's own deadline (admission sets it in the runtime). */
  private static Pending pending(EmbeddingRequest r, int target) {
    Pending p = new Pending(r, new TokenizedText(new long[5], new long[5], false), null, null, target);
    p.deadlineNanos = r.deadlineMs() == null ? Long.MAX_VALUE : r.deadlineMs() * MS;
    return p;
  }

  /** The router where every exit is usable by auto from its floor on (minStage 0 here). */
  private static ExitRouter.Decision decide(Pending p, int finished, int last, int allowed, long next, long now) {
    return ExitRouter.decide(p, finished, last, allowed, next, now, finished >= p.minStage);
  }

  @Test
  void deepIsNeverCutShortByLoadOrDeadline() {
    Pending deep = pending(EmbeddingRequest.of("x", ExitPolicy.Deep.INSTANCE).withDeadlineMs(1), 2);
    ExitRouter.Decision d = decide(deep, 0, 2, 0, 1000 * MS, 500 * MS);
    assertFalse(d.exit());
    assertTrue(decide(deep, 2, 2, 0, 0, 500 * MS).exit());
  }

  @Test
  void exactAndShallowLeaveAtTheirExit() {
    Pending exact = pending(EmbeddingRequest.of("x", new ExitPolicy.Exact(4)), 1);
    assertFalse(decide(exact, 0, 2, 2, 0, 0).exit());
    assertEquals(ExitReason.POLICY, decide(exact, 1, 2, 2, 0, 0).reason());
    Pending shallow = pending(EmbeddingRequest.of("x", ExitPolicy.Shallow.INSTANCE), 0);
    assertEquals(ExitReason.POLICY, decide(shallow, 0, 2, 2, 0, 0).reason());
  }

  @Test
  void autoLeavesWhenTheNextStageWouldMissItsDeadline() {
    Pending auto = pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE).withDeadlineMs(50), 2);
    assertFalse(decide(auto, 0, 2, 2, 20 * MS, 10 * MS).exit(), "10 + 20 ms fits in 50");
    assertEquals(ExitReason.DEADLINE, decide(auto, 0, 2, 2, 45 * MS, 10 * MS).reason());
  }

  @Test
  void autoLeavesWhereTheControllerStopsIt() {
    Pending auto = pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE), 2);
    assertEquals(ExitReason.LOAD, decide(auto, 1, 2, 1, 0, 0).reason());
    assertFalse(decide(auto, 0, 2, 1, 0, 0).exit());
    assertEquals(ExitReason.POLICY, decide(auto, 2, 2, 2, 0, 0).reason());
  }

  /** The worker sends hidden states back only when mayGoOn: it must hold for every request decide lets go on. */
  @Test
  void mayGoOnHoldsWheneverDecideContinuesAndNeverAtTheLastStage() {
    int last = 2;
    List<Pending> requests = List.of(
        pending(EmbeddingRequest.of("x", ExitPolicy.Deep.INSTANCE), last),
        pending(EmbeddingRequest.of("x", ExitPolicy.Shallow.INSTANCE), 0),
        pending(EmbeddingRequest.of("x", new ExitPolicy.Exact(4)), 1),
        pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE).withDeadlineMs(50), last),
        pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE), last));
    int continued = 0;
    for (Pending p : requests) {
      for (int finished = 0; finished <= last; finished++) {
        for (int allowed = 0; allowed <= last; allowed++) {
          for (boolean usable : new boolean[] {true, false}) {
            if (!ExitRouter.decide(p, finished, last, allowed, 20 * MS, 10 * MS, usable).exit()) {
              continued++;
              assertTrue(ExitRouter.mayGoOn(p, finished, last), p.request.exit() + " continued after " + finished);
            }
          }
        }
      }
      assertFalse(ExitRouter.mayGoOn(p, last, last), "nothing goes on after the last stage");
    }
    assertTrue(continued > 0);
    assertFalse(ExitRouter.mayGoOn(requests.get(1), 0, last), "shallow stops at its target");
    assertFalse(ExitRouter.mayGoOn(requests.get(2), 1, last), "an exact exit stops at its target");
    assertTrue(ExitRouter.mayGoOn(requests.get(2), 0, last));
  }

  @Test
  void autoNeverLeavesAtAnExitItMayNotUse() {
    Pending auto = pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE).withDeadlineMs(50), 2);
    assertFalse(ExitRouter.decide(auto, 0, 2, 0, 1000 * MS, 10 * MS, false).exit(),
        "neither load (allowed 0) nor the deadline stops it at an exit below its floor or no faster than the next");
    assertEquals(ExitReason.LOAD, ExitRouter.decide(auto, 1, 2, 0, 1000 * MS, 10 * MS, true).reason());
  }
}
