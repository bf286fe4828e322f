package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DecayingRateTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void settlesAtASteadyRateAndFallsAwayAfterAStop() {
    DecayingRate rate = new DecayingRate(Duration.ofSeconds(1));
    assertEquals(0.0, rate.perSecond(0));
    long t = 0;
    for (int i = 0; i < 2000; i++) { // 200 per second for 10 s, in bursts of 2 every 10 ms
      t += 10_000_000L;
      rate.record(2, t);
    }
    assertEquals(200.0, rate.perSecond(t), 2.0);
    assertEquals(200.0 / Math.E, rate.perSecond(t + SECOND), 2.0); // one time constant later
    assertTrue(rate.perSecond(t + 10 * SECOND) < 0.01);
  }

  @Test
  void followsAChangeOfRateWithinAFewTimeConstants() {
    DecayingRate rate = new DecayingRate(Duration.ofMillis(500));
    long t = 0;
    for (int i = 0; i < 1000; i++) { // 1,000 per second
      t += 1_000_000L;
      rate.record(1, t);
    }
    for (int i = 0; i < 200; i++) { // then 100 per second for 2 s (four time constants)
      t += 10_000_000L;
      rate.record(1, t);
    }
    assertEquals(100.0, rate.perSecond(t), 100.0 * 0.1 + 1000 * Math.exp(-4));
  }

  @Test
  void aStepFromNothingReadsAsItsRateAfterAFewEventsWhenAsked() {
    DecayingRate rate = new DecayingRate(Duration.ofMillis(100));
    long t = 5 * SECOND; // idle until now
    for (int i = 0; i < 30; i++) { // 1,000 per second for 30 ms
      t += 1_000_000L;
      rate.record(1, t);
    }
    assertTrue(rate.perSecond(t) < 300, "the plain average still lags: " + rate.perSecond(t));
    assertEquals(1000.0, rate.perSecondSinceStart(t, 8), 100.0);
    for (int i = 0; i < 2000; i++) { // steady: the two agree
      t += 1_000_000L;
      rate.record(1, t);
    }
    assertEquals(rate.perSecond(t), rate.perSecondSinceStart(t, 8), 1.0);
    DecayingRate few = new DecayingRate(Duration.ofMillis(100));
    few.record(1, SECOND);
    few.record(1, SECOND + 1_000L);
    assertEquals(few.perSecond(SECOND + 1_000L), few.perSecondSinceStart(SECOND + 1_000L, 8), 1e-9,
        "two events a microsecond apart are not read as 2 million a second");
  }
}
