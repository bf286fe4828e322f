package dev.exitflow.loadtests;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SynchronizedHistogram;

/**
 * Open-loop Poisson arrivals at a fixed rate through any transport: {@code send} starts request
 * {@code i} and completes when its answer is in. Latency runs from the scheduled arrival (no
 * coordinated omission). Waits up to a minute for the answers still out at the end.
 */
final class PoissonArrivals {
  record Outcome(long offered, long completed, long failed, Histogram latencyUs, double seconds) {}

  /** What happens at an arrival: request {@code i}, due at {@code intendedNanos} (System.nanoTime). */
  interface Arrival {
    void at(int i, long intendedNanos);
  }

  private PoissonArrivals() {}

  /**
   * Calls {@code arrival} at Poisson arrival times at {@code rate} per second from {@code start}
   * for {@code duration} (exponential gaps from a generator seeded with {@code seed}, so runs
   * repeat); returns how many arrived.
   */
  static long each(double rate, Duration duration, long start, long seed, Arrival arrival) {
    SplittableRandom random = new SplittableRandom(seed);
    long arrived = 0;
    double t = 0;
    while (true) {
      t += -Math.log(1 - random.nextDouble()) / rate;
      long intended = start + (long) (t * 1e9);
      if (intended - start > duration.toNanos()) {
        return arrived;
      }
      long wait = intended - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      arrival.at((int) arrived++, intended);
    }
  }

  static Outcome run(double rate, Duration duration, IntFunction<CompletionStage<?>> send) throws InterruptedException {
    Histogram latency = new SynchronizedHistogram(Duration.ofMinutes(5).toNanos() / 1000, 3);
    AtomicLong completed = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong outstanding = new AtomicLong();
    long start = System.nanoTime();
    long offered = each(rate, duration, start, 7, (i, intended) -> {
      outstanding.incrementAndGet();
      send.apply(i).whenComplete((answer, error) -> {
        if (error == null) {
          latency.recordValue(Math.max(1, (System.nanoTime() - intended) / 1000));
          completed.incrementAndGet();
        } else {
          failed.incrementAndGet();
        }
        outstanding.decrementAndGet();
      });
    });
    long drainUntil = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (outstanding.get() > 0 && System.nanoTime() < drainUntil) {
      Thread.sleep(10);
    }
    return new Outcome(offered, completed.get(), failed.get(), latency, (System.nanoTime() - start) / 1e9);
  }
}
