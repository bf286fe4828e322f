package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DeadlineShareTest {
  private final RuntimeSettings.Admission defaults = RuntimeSettings.create(ConfigFactory.load()).admission();

  @Test
  void fallsToItsFloorWhileEverythingIsLateAndRisesToItsCeilingWhileNothingIs() {
    DeadlineShare share = new DeadlineShare(defaults);
    assertEquals(defaults.predictedShare(), share.value());
    for (int i = 0; i < 1_000; i++) {
      share.finished(true);
    }
    assertEquals(defaults.minShare(), share.value(), 1e-9);
    for (int i = 0; i < 100_000; i++) {
      share.finished(false);
    }
    assertEquals(defaults.maxShare(), share.value(), 1e-9);
  }

  /** How far admission trusts a reserve exit to take a burst: all the way at the ceiling, not at all at the floor. */
  @Test
  void trustFollowsTheShareFromFloorToCeiling() {
    DeadlineShare share = new DeadlineShare(defaults);
    assertEquals(defaults.maxShare(), share.value(), 1e-9, "the defaults start at the ceiling");
    assertEquals(1, share.trust(), 1e-9);
    for (int i = 0; i < 100; i++) {
      share.finished(true);
    }
    double expected = (share.value() - defaults.minShare()) / (defaults.maxShare() - defaults.minShare());
    assertTrue(expected > 0.2 && expected < 0.8, "part way down: " + share.value());
    assertEquals(expected, share.trust(), 1e-9);
    for (int i = 0; i < 1_000; i++) {
      share.finished(true);
    }
    assertEquals(0, share.trust(), 1e-9);
    DeadlineShare fixed = new DeadlineShare(new RuntimeSettings.Admission(Duration.ofMillis(250), 0.8, 0.9, 0.01,
        0.8, 0.8, 0.0, Duration.ZERO));
    assertEquals(1, fixed.trust(), 1e-9, "a fixed share (floor = ceiling) is trusted");
  }

  @Test
  void returnsTowardsWhereItStartedWhileTheRuntimeIsIdle() {
    DeadlineShare share = new DeadlineShare(defaults);
    double start = share.value();
    for (int i = 0; i < 1_000; i++) {
      share.finished(true);
    }
    double floor = share.value();
    long tau = defaults.idleRelaxation().toNanos();
    share.idle(tau);
    assertEquals(start - (start - floor) * Math.exp(-1), share.value(), 1e-9, "one time constant idle");
    for (int i = 0; i < 10; i++) {
      share.idle(tau);
    }
    assertEquals(start, share.value(), 1e-4, "after eleven");
  }

  @Test
  void withoutIdleRelaxationIdleChangesNothing() {
    DeadlineShare share = new DeadlineShare(new RuntimeSettings.Admission(Duration.ofMillis(250), 0.8, 0.9, 0.01,
        0.4, 1.0, 0.002, Duration.ZERO));
    share.finished(true);
    double after = share.value();
    share.idle(Duration.ofMinutes(1).toNanos());
    assertEquals(after, share.value());
  }

  @Test
  void settlesWhereTheTargetFractionIsLate() {
    DeadlineShare share = new DeadlineShare(defaults);
    // A node where admitting at share s makes a request late with probability (s / 0.9)^20: 1% at
    // s = 0.9 * 0.01^(1/20) ~ 0.715, far more above it, almost none below.
    Random random = new Random(7);
    double sum = 0;
    int late = 0;
    int n = 200_000;
    for (int i = 0; i < n; i++) {
      boolean isLate = random.nextDouble() < Math.pow(share.value() / 0.9, 20);
      share.finished(isLate);
      if (i >= n / 2) {
        sum += share.value();
        late += isLate ? 1 : 0;
      }
    }
    double mean = sum / (n / 2);
    assertEquals(0.9 * Math.pow(defaults.lateFraction(), 1.0 / 20), mean, 0.02, "mean share " + mean);
    double lateFraction = late / (n / 2.0);
    assertEquals(defaults.lateFraction(), lateFraction, defaults.lateFraction() / 2, "late fraction " + lateFraction);
  }

  @Test
  void stepZeroKeepsTheShareWhereItStarts() {
    DeadlineShare share = new DeadlineShare(new RuntimeSettings.Admission(Duration.ofMillis(250), 0.8, 0.9, 0.01,
        0.4, 1.0, 0, Duration.ofSeconds(1)));
    for (int i = 0; i < 100; i++) {
      share.finished(i % 2 == 0);
    }
    assertEquals(0.8, share.value());
  }
}
