package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.tokenize.TokenizedText;
import org.junit.jupiter.api.Test;

class ExitRouterTest {
  private static final long MS = 1_000_000L;

  private static Pending pending(EmbeddingRequest r, int target) {
    return new Pending(r, new TokenizedText(new long[5], new long[5], false), null, target, 0);
  }

  @Test
  void deepIsNeverCutShortByLoadOrDeadline() {
    Pending deep = pending(EmbeddingRequest.of("x", ExitPolicy.Deep.INSTANCE).withDeadlineMs(1), 2);
    ExitRouter.Decision d = ExitRouter.decide(deep, 0, 2, 0, 1000 * MS, 500 * MS);
    assertFalse(d.exit());
    assertTrue(ExitRouter.decide(deep, 2, 2, 0, 0, 500 * MS).exit());
  }

  @Test
  void exactAndShallowLeaveAtTheirExit() {
    Pending exact = pending(EmbeddingRequest.of("x", new ExitPolicy.Exact(4)), 1);
    assertFalse(ExitRouter.decide(exact, 0, 2, 2, 0, 0).exit());
    assertEquals(ExitReason.POLICY, ExitRouter.decide(exact, 1, 2, 2, 0, 0).reason());
    Pending shallow = pending(EmbeddingRequest.of("x", ExitPolicy.Shallow.INSTANCE), 0);
    assertEquals(ExitReason.POLICY, ExitRouter.decide(shallow, 0, 2, 2, 0, 0).reason());
  }

  @Test
  void autoLeavesWhenTheNextStageWouldMissItsDeadline() {
    Pending auto = pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE).withDeadlineMs(50), 2);
    assertFalse(ExitRouter.decide(auto, 0, 2, 2, 20 * MS, 10 * MS).exit(), "10 + 20 ms fits in 50");
    assertEquals(ExitReason.DEADLINE, ExitRouter.decide(auto, 0, 2, 2, 45 * MS, 10 * MS).reason());
  }

  @Test
  void autoLeavesWhereTheControllerStopsIt() {
    Pending auto = pending(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE), 2);
    assertEquals(ExitReason.LOAD, ExitRouter.decide(auto, 1, 2, 1, 0, 0).reason());
    assertFalse(ExitRouter.decide(auto, 0, 2, 1, 0, 0).exit());
    assertEquals(ExitReason.POLICY, ExitRouter.decide(auto, 2, 2, 2, 0, 0).reason());
  }
}
