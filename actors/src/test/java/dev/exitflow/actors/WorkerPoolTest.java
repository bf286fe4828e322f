package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {
  private static final ActorTestKit KIT = ActorTestKit.create();

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static ActorRef<StageWorker.Command> worker() {
    return KIT.<StageWorker.Command>createTestProbe().ref();
  }

  @Test
  void inOneProcessThePoolIsCompleteWithEveryConfiguredWorker() {
    WorkerPool pool = new WorkerPool(2, 2, 1, ready -> {});
    ActorRef<StageWorker.Command> a = worker();
    assertTrue(pool.join(a, 0));
    assertFalse(pool.join(a, 0), "a restarted worker announcing itself again is no new worker");
    pool.join(worker(), 0);
    pool.join(worker(), 1);
    assertFalse(pool.complete());
    pool.join(worker(), 1);
    assertTrue(pool.complete());
    assertEquals(2, pool.workersAt(1));
  }

  @Test
  void waitEstimatesCountOnlyTheWorkersTheNodesBudgetLetsComputeAtOnce() {
    WorkerPool pool = new WorkerPool(1, 2, 2, 1, ready -> {});
    pool.join(worker(), 0);
    pool.join(worker(), 0);
    assertEquals(1, pool.workersAt(0), "two workers, but one busy worker per node");
  }

  @Test
  void inAClusterWorkersComeAndGo() {
    List<Boolean> readiness = new java.util.ArrayList<>();
    WorkerPool pool = new WorkerPool(2, 0, 1, readiness::add);
    ActorRef<StageWorker.Command> first = worker();
    ActorRef<StageWorker.Command> second = worker();
    pool.join(first, 0);
    assertEquals(List.of(2), pool.stagesWithoutWorkers());
    assertEquals(1, pool.workersAt(1), "an estimate needs at least one");
    pool.join(second, 1);
    assertTrue(pool.complete());

    assertEquals(first, pool.takeFree(0));
    assertFalse(pool.hasFree(0) || pool.hasWaitingSlot(0));
    assertEquals(List.of(first), pool.unlisted(0, Set.of()));
    assertEquals(0, pool.leave(first));
    assertNull(pool.leave(first));
    pool.release(first, 0); // its batch answered after it left: it takes no more
    assertFalse(pool.hasFree(0));
    assertFalse(pool.complete());
    assertEquals(List.of(1), pool.stagesWithoutWorkers());
    assertEquals(List.of(true, false), readiness, "ready when every stage had a worker, unready when one left");
  }

  @Test
  void aWorkerHoldsAsManyBatchesAsItHasSlotsAndLeavesWithAllOfThem() {
    WorkerPool pool = new WorkerPool(1, 1, 2, ready -> {});
    ActorRef<StageWorker.Command> w = worker();
    pool.join(w, 0);
    assertEquals(w, pool.takeFree(0));
    assertFalse(pool.hasFree(0), "it holds a batch");
    assertTrue(pool.hasWaitingSlot(0));
    assertEquals(w, pool.takeWaitingSlot(0), "the next batch waits at the worker");
    assertFalse(pool.hasWaitingSlot(0));
    pool.release(w, 0);
    assertTrue(pool.hasWaitingSlot(0));
    assertEquals(0, pool.leave(w));
    assertFalse(pool.hasWaitingSlot(0) || pool.hasFree(0), "no slot of a worker that left stays behind");
  }

  @Test
  void aFreeWorkerIsOneHoldingNothing() {
    WorkerPool pool = new WorkerPool(1, 2, 2, ready -> {});
    ActorRef<StageWorker.Command> a = worker();
    ActorRef<StageWorker.Command> b = worker();
    pool.join(a, 0);
    pool.join(b, 0);
    ActorRef<StageWorker.Command> first = pool.takeFree(0);
    assertTrue(pool.hasFree(0));
    ActorRef<StageWorker.Command> other = pool.takeFree(0);
    assertFalse(first.equals(other), "the free one, not the busy one's second slot");
    assertFalse(pool.hasFree(0));
    assertTrue(pool.hasWaitingSlot(0), "both still have a second slot");
    pool.release(first, 0);
    assertEquals(first, pool.takeFree(0));
  }

  @Test
  void atMostTheNodesBudgetOfWorkersComputeAtOnceWhateverTheirStages() {
    WorkerPool pool = new WorkerPool(3, 2, 2, 2, ready -> {});
    for (int stage = 0; stage < 3; stage++) {
      pool.join(worker(), stage);
      pool.join(worker(), stage);
    }
    ActorRef<StageWorker.Command> deep = pool.takeFree(2);
    pool.takeFree(0);
    assertFalse(pool.hasFree(0), "two of the node's six workers compute: a third would share their cores");
    assertFalse(pool.hasFree(1));
    assertTrue(pool.hasWaitingSlot(0), "a busy worker may still hold its next batch");
    pool.release(deep, 2);
    assertTrue(pool.hasFree(1), "a worker stopped computing: another may start, at any stage");
  }

  @Test
  void aNodeMayHoldABatchAheadOfItsBudgetWhichDoesNotCountAsComputing() throws InterruptedException {
    WorkerPool pool = new WorkerPool(2, 0, 1, 1, 1, ready -> {});
    ActorRef<StageWorker.Command> first = worker();
    ActorRef<StageWorker.Command> second = worker();
    pool.join(first, 0);
    pool.join(second, 1);
    assertEquals(1, pool.computeCapacity(), "one node, one busy worker");
    pool.takeFree(0);
    assertFalse(pool.hasFree(1), "the node's one slot computes");
    assertTrue(pool.hasSlotAhead(1), "the next stage's batch may wait at the node for that slot");
    pool.takeSlotAhead(1);
    assertFalse(pool.hasSlotAhead(0) || pool.hasFree(0), "one batch ahead, not more");
    long before = pool.busyNanos();
    Thread.sleep(50);
    long computing = pool.busyNanos() - before;
    assertTrue(computing >= 45_000_000L && computing < 90_000_000L,
        "two workers hold batches, one computes: " + computing / 1e6 + " ms of compute in ~50 ms");
  }
}
