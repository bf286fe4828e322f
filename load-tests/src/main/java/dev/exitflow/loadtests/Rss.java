package dev.exitflow.loadtests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** This process's resident memory in MiB (from /proc; -1 elsewhere), and its peak while sampled every 200 ms. */
final class Rss {
  private final AtomicLong peak = new AtomicLong(now());
  private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();

  private Rss() {
    sampler.scheduleAtFixedRate(() -> peak.accumulateAndGet(now(), Math::max), 200, 200, TimeUnit.MILLISECONDS);
  }

  /** Starts sampling. */
  static Rss sample() {
    return new Rss();
  }

  /** Stops sampling; the peak seen, in MiB. */
  long stop() {
    sampler.shutdownNow();
    return peak.accumulateAndGet(now(), Math::max);
  }

  static long now() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        }
      }
    } catch (Exception ignored) {
      // not Linux: no figure
    }
    return -1;
  }
}
