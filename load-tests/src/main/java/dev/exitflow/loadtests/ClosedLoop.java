package dev.exitflow.loadtests;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A closed loop over any transport: {@code concurrency} requests outstanding, each answer starting
 * the next, for a while; the answers per second that completed within it, the failures, and the
 * answers' latency (a closed loop at saturation queues by construction: latency grows with
 * {@code concurrency}).
 */
final class ClosedLoop {
  record Outcome(double perSecond, long failed, double p50Ms, double p99Ms) {}

  private ClosedLoop() {}

  static Outcome run(IntFunction<? extends CompletionStage<?>> send, int concurrency, Duration duration)
      throws InterruptedException {
    Semaphore permits = new Semaphore(concurrency);
    AtomicLong completed = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    Recorder latency = new Recorder(3);
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    for (int i = 0; System.nanoTime() < end; i++) {
      if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) {
        continue;
      }
      long sent = System.nanoTime();
      send.apply(i).whenComplete((r, e) -> {
        long now = System.nanoTime();
        if (now <= end) {
          (e == null ? completed : failed).incrementAndGet();
          if (e == null) {
            latency.recordValue((now - sent) / 1000);
          }
        }
        permits.release();
      });
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    // The stragglers finish before the next measurement (a lost Kafka answer does not hang it).
    permits.tryAcquire(concurrency, 60, TimeUnit.SECONDS);
    Histogram micros = latency.getIntervalHistogram();
    return new Outcome(completed.get() / seconds, failed.get(), micros.getValueAtPercentile(50) / 1000.0,
        micros.getValueAtPercentile(99) / 1000.0);
  }
}
