package dev.exitflow.actors;

/**
 * Events per second, weighted towards the last {@code timeConstant}: each event adds
 * 1 / timeConstant and the sum decays by e^(-elapsed / timeConstant), so for steady arrivals it
 * settles at their rate and after a stop it falls away within a few time constants. One value and
 * one timestamp, no buckets. Plain: one thread (the scheduler's) updates and reads it.
 */
final class DecayingRate {
  private final double timeConstantNanos;
  private double perNano;
  private long lastNanos;

  DecayingRate(java.time.Duration timeConstant) {
    this.timeConstantNanos = timeConstant.toNanos();
  }

  void record(int events, long now) {
    perNano = decayed(now) + events / timeConstantNanos;
    lastNanos = now;
  }

  double perSecond(long now) {
    return decayed(now) * 1e9;
  }

  private double decayed(long now) {
    return perNano == 0 ? 0 : perNano * Math.exp(-Math.max(0, now - lastNanos) / timeConstantNanos);
  }
}
