package dev.exitflow.streams.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import org.junit.jupiter.api.Test;

/**
 * A record's deadline is what is left of its own (or, for auto, of the SLO) after its time in the
 * topic, and soft: admission serves a lagging record late rather than refusing it.
 */
class RecordBudgetTest {
  private static final long NOW = 1_000_000L;

  @Test
  void anAutoRecordGetsWhatTheSloLeavesAsASoftDeadline() {
    EmbeddingRequest r = RecordDecoder.withBudget(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE), NOW - 100, NOW, 250);
    assertEquals(150L, r.deadlineMs());
    assertTrue(r.softDeadline());
    EmbeddingRequest own = RecordDecoder.withBudget(
        EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE).withDeadlineMs(1000), NOW - 400, NOW, 250);
    assertEquals(600L, own.deadlineMs(), "its own deadline, less its time in the topic");
    assertTrue(own.softDeadline());
    assertEquals(1L, RecordDecoder.withBudget(EmbeddingRequest.of("x", ExitPolicy.Auto.INSTANCE), NOW - 900, NOW, 250)
        .deadlineMs(), "a record past its SLO still goes, as shallow as it may");
  }

  @Test
  void aDeepRecordWithoutADeadlineHasNone() {
    EmbeddingRequest r = RecordDecoder.withBudget(EmbeddingRequest.of("x", ExitPolicy.Deep.INSTANCE), NOW - 100, NOW, 250);
    assertNull(r.deadlineMs());
    assertFalse(r.softDeadline());
  }
}
