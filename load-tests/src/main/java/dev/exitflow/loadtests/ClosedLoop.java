package dev.exitflow.loadtests;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * A closed loop over any transport: {@code concurrency} requests outstanding, each answer starting
 * the next, for a while; the answers per second that completed within it, and the failures.
 */
final class ClosedLoop {
  record Outcome(double perSecond, long failed) {}

  private ClosedLoop() {}

  static Outcome run(IntFunction<? extends CompletionStage<?>> send, int concurrency, Duration duration)
      throws InterruptedException {
    Semaphore permits = new Semaphore(concurrency);
    AtomicLong completed = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    for (int i = 0; System.nanoTime() < end; i++) {
      if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) {
        continue;
      }
      send.apply(i).whenComplete((r, e) -> {
        if (System.nanoTime() <= end) {
          (e == null ? completed : failed).incrementAndGet();
        }
        permits.release();
      });
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    // The stragglers finish before the next measurement (a lost Kafka answer does not hang it).
    permits.tryAcquire(concurrency, 60, TimeUnit.SECONDS);
    return new Outcome(completed.get() / seconds, failed.get());
  }
}
