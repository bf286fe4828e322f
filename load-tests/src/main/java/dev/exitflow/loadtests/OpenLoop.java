package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.Overloaded;
import dev.exitflow.actors.RuntimeStats;
import dev.exitflow.actors.StageStats;
import dev.exitflow.model.Failures;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.SynchronizedHistogram;

/**
 * Open-loop load: Poisson arrivals at a fixed rate, whatever the runtime's state, for a fixed
 * time. Latency runs from each request's scheduled arrival to its reply, so a stalled generator
 * cannot hide queueing (no coordinated omission). Every {@code SAMPLE} it records the window's p99,
 * the stage queues, the controller's level, admission's share of the deadline and the exit mix; every {@code WINDOW}, the p99 and the
 * refusals by the time they happened.
 */
final class OpenLoop {
  static final Duration SAMPLE = Duration.ofMillis(500);

  /**
   * One sampling window. {@code firstStageThroughput}: what the runtime believes its first stage
   * gets through per second (admission and the controller predict waits from it), beside what
   * completed. {@code deadlineShare}: the share of a deadline admission lets a prediction take. {@code rejectedPerS}: refusals in the window, a second (when in a run they happen).
   */
  record Sample(double tSeconds, double p99Ms, int queueDepth, double degradation, double deadlineShare,
      double completedPerS,
      double rejectedPerS, double firstStageThroughput, Map<Integer, Double> exitMix) {}

  /** Length of the windows {@link Outcome#windows()} reports p99 over. */
  static final Duration WINDOW = Duration.ofSeconds(5);

  /** One {@link #WINDOW} of completions and refusals, by the time they happened. */
  record Window(double fromSeconds, long completed, long rejected, double p99Ms) {}

  /**
   * Totals of a run. {@code rejectedUs}: how long refused requests waited for their refusal (a
   * refusal at admission takes microseconds; one after queueing would show here).
   */
  record Outcome(long offered, long completed, long rejected, long failed, Histogram latencyUs, Histogram rejectedUs,
      Map<Integer, Long> exits, List<Sample> timeline, List<Window> windows, Parts parts) {}

  /**
   * Where completed requests' time went: the generator's own lateness (from the scheduled arrival
   * to the submit call; it shares the cores with the runtime), in stage queues, computing in stage
   * batches, and the rest (admission, messages between scheduler and workers, a batch waiting at a
   * busy worker, the reply), each its own distribution; and the whole latency by where and why the
   * request left ("2 load": at layer 2 because the depth controller allowed no deeper), since a
   * few requests that go deeper can make the tail of all.
   */
  record Parts(Histogram lateUs, Histogram queueUs, Histogram computeUs, Histogram otherUs,
      Map<String, Histogram> byExitUs) {
    Parts() {
      this(histogram(), histogram(), histogram(), histogram(), new ConcurrentHashMap<>());
    }

    void record(long latencyUs, long sentLateUs, EmbeddingResult r) {
      lateUs.recordValue(Math.max(1, sentLateUs));
      byExitUs.computeIfAbsent(r.exitLayer() + " " + r.reason().name().toLowerCase(Locale.ROOT),
          k -> histogram()).recordValue(latencyUs);
      long queue = (long) (r.queueMs() * 1000);
      long compute = (long) (r.computeMs() * 1000);
      queueUs.recordValue(Math.max(1, queue));
      computeUs.recordValue(Math.max(1, compute));
      otherUs.recordValue(Math.max(1, latencyUs - sentLateUs - queue - compute));
    }

    private static Histogram histogram() {
      return new SynchronizedHistogram(Duration.ofMinutes(5).toNanos() / 1000, 3);
    }
  }

  private OpenLoop() {}

  static Outcome run(EncoderRuntime runtime, double rate, Duration duration, IntFunction<EmbeddingRequest> request)
      throws InterruptedException {
    Recorder window = new Recorder(3);
    Histogram total = new Histogram(Duration.ofMinutes(5).toNanos() / 1000, 3);
    Histogram refusals = new SynchronizedHistogram(Duration.ofMinutes(5).toNanos() / 1000, 3);
    Map<Integer, Histogram> byWindow = new ConcurrentHashMap<>();
    Map<Integer, LongAdder> rejectedByWindow = new ConcurrentHashMap<>();
    Map<Integer, LongAdder> exits = new ConcurrentHashMap<>();
    Map<Integer, LongAdder> windowExits = new ConcurrentHashMap<>();
    Parts parts = new Parts();
    AtomicLong completed = new AtomicLong();
    AtomicLong rejected = new AtomicLong();
    LongAdder windowRejected = new LongAdder();
    AtomicLong failed = new AtomicLong();
    AtomicLong outstanding = new AtomicLong();
    List<Sample> timeline = new ArrayList<>();
    long start = System.nanoTime();

    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleAtFixedRate(() -> {
      Histogram h = window.getIntervalHistogram();
      total.add(h);
      Map<Integer, Long> counts = new TreeMap<>();
      windowExits.forEach((layer, adder) -> counts.put(layer, adder.sumThenReset()));
      long sum = counts.values().stream().mapToLong(Long::longValue).sum();
      Map<Integer, Double> mix = new TreeMap<>();
      counts.forEach((layer, n) -> mix.put(layer, sum == 0 ? 0.0 : (double) n / sum));
      RuntimeStats stats = runtime.stats().toCompletableFuture().join();
      int queued = stats.stages().stream().mapToInt(StageStats::queueDepth).sum();
      synchronized (timeline) {
        timeline.add(new Sample((System.nanoTime() - start) / 1e9, h.getValueAtPercentile(99) / 1000.0, queued,
            stats.degradationLevel(), stats.deadlineShare(), h.getTotalCount() / (SAMPLE.toNanos() / 1e9),
            windowRejected.sumThenReset() / (SAMPLE.toNanos() / 1e9), stats.stages().get(0).serviceRatePerS(),
            mix));
      }
    }, SAMPLE.toMillis(), SAMPLE.toMillis(), TimeUnit.MILLISECONDS);

    long offered = PoissonArrivals.each(rate, duration, start, 42, (i, intended) -> {
      outstanding.incrementAndGet();
      long sentLateUs = (System.nanoTime() - intended) / 1000;
      runtime.submit(request.apply(i)).whenComplete((EmbeddingResult r, Throwable e) -> {
        long now = System.nanoTime();
        long latencyUs = Math.max(1, (now - intended) / 1000);
        int w = (int) ((now - start) / WINDOW.toNanos());
        if (e == null) {
          window.recordValue(latencyUs);
          byWindow.computeIfAbsent(w, k -> new SynchronizedHistogram(Duration.ofMinutes(5).toNanos() / 1000, 3))
              .recordValue(latencyUs);
          exits.computeIfAbsent(r.exitLayer(), k -> new LongAdder()).increment();
          windowExits.computeIfAbsent(r.exitLayer(), k -> new LongAdder()).increment();
          parts.record(latencyUs, sentLateUs, r);
          completed.incrementAndGet();
        } else if (Failures.unwrap(e) instanceof Overloaded) {
          rejected.incrementAndGet();
          windowRejected.increment();
          refusals.recordValue(latencyUs);
          rejectedByWindow.computeIfAbsent(w, k -> new LongAdder()).increment();
        } else {
          failed.incrementAndGet();
        }
        outstanding.decrementAndGet();
      });
    });
    long drainUntil = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (outstanding.get() > 0 && System.nanoTime() < drainUntil) {
      Thread.sleep(20);
    }
    sampler.shutdown();
    sampler.awaitTermination(5, TimeUnit.SECONDS);
    total.add(window.getIntervalHistogram());
    Map<Integer, Long> exitTotals = new TreeMap<>();
    exits.forEach((k, v) -> exitTotals.put(k, v.sum()));
    List<Window> windows = new ArrayList<>();
    int last = Math.max(byWindow.keySet().stream().mapToInt(Integer::intValue).max().orElse(0),
        rejectedByWindow.keySet().stream().mapToInt(Integer::intValue).max().orElse(0));
    for (int w = 0; w <= last; w++) {
      Histogram h = byWindow.get(w);
      LongAdder r = rejectedByWindow.get(w);
      windows.add(new Window(w * WINDOW.toSeconds(), h == null ? 0 : h.getTotalCount(), r == null ? 0 : r.sum(),
          h == null ? 0 : h.getValueAtPercentile(99) / 1000.0));
    }
    return new Outcome(offered, completed.get(), rejected.get(), failed.get(), total, refusals, exitTotals, timeline,
        windows, parts);
  }
}
