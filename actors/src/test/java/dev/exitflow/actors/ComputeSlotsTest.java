package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ComputeSlotsTest {
  /** Runs {@code runs} tasks of 100 ms on as many threads; returns the most that ran at once. */
  private static int mostAtOnce(ComputeSlots slots, int runs) throws Exception {
    AtomicInteger now = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    ExecutorService threads = Executors.newFixedThreadPool(runs);
    try {
      List<Future<Integer>> done = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        done.add(threads.submit(() -> slots.run(() -> {
          most.accumulateAndGet(now.incrementAndGet(), Math::max);
          Thread.sleep(100);
          return now.decrementAndGet();
        })));
      }
      for (Future<Integer> f : done) {
        f.get();
      }
    } finally {
      threads.shutdown();
    }
    return most.get();
  }

  @Test
  void aNodeRunsNoMoreBatchesAtOnceThanItsSlots() throws Exception {
    assertEquals(1, mostAtOnce(ComputeSlots.of(1), 4));
    assertEquals(2, mostAtOnce(ComputeSlots.of(2), 4));
  }

  @Test
  void withoutABudgetEveryRunStartsAtOnce() throws Exception {
    assertEquals(4, mostAtOnce(ComputeSlots.of(0), 4));
  }
}
