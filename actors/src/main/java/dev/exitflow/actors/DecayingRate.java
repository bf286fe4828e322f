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
  /** The first event after the sum had decayed to (almost) nothing: the start of the current run of events. */
  private long startNanos;

  DecayingRate(java.time.Duration timeConstant) {
    this.timeConstantNanos = timeConstant.toNanos();
  }

  void record(int events, long now) {
    if (decayed(now) * timeConstantNanos < 0.5) {
      startNanos = now;
    }
    perNano = decayed(now) + events / timeConstantNanos;
    lastNanos = now;
  }

  double perSecond(long now) {
    return decayed(now) * 1e9;
  }

  /**
   * {@link #perSecond} without the average's lag after a start from nothing, once at least
   * {@code minEvents} have come: the decayed sum over the weight the time since the start has had
   * (1 - e^(-elapsed / timeConstant); Adam's bias correction). A step from idle to a steady rate
   * reads as that rate after a few events rather than after a time constant, so a load step shows
   * at once; in a steady run the weight is 1 and the two agree.
   */
  double perSecondSinceStart(long now, int minEvents) {
    double sum = decayed(now);
    double weight = 1 - Math.exp(-Math.max(0, now - startNanos) / timeConstantNanos);
    if (sum * timeConstantNanos < minEvents || weight <= 0) {
      return sum * 1e9;
    }
    return sum / weight * 1e9;
  }

  private double decayed(long now) {
    return perNano == 0 ? 0 : perNano * Math.exp(-Math.max(0, now - lastNanos) / timeConstantNanos);
  }
}
