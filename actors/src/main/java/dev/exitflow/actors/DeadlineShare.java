package dev.exitflow.actors;

/**
 * The share of its deadline that admission lets a request's predicted completion take, kept where
 * the latency objective holds rather than fixed. A fixed share is wrong in both directions: on a
 * quiet node it refuses requests that would have been served in time (a burst of long sentences
 * predicts a long queue that clears sooner), and when another process takes a core every batch
 * computes slower than the rates measured before, so requests admitted at that share finish late.
 *
 * <p>The share moves as a quantile estimate does (Robbins-Monro): for every request admission could
 * have refused that finishes past {@code lateAt} of its deadline it falls by {@code step x (1 -
 * lateFraction)}, for every one that finishes sooner it rises by {@code step x lateFraction}; it
 * settles where {@code lateFraction} of them finish late, between {@code minShare} and
 * {@code maxShare}.
 *
 * <p>While the runtime is idle the share returns towards where it started, by {@code 1 - e^(-t /
 * idleRelaxation)} of the way over t idle: what it learned in the last overload (a saturating burst
 * can leave it at its floor) is about that episode, not the next load. Without this, a node that
 * had been saturated met its next moderate load at the floor and refused requests it would have
 * served in time until about 25,000 on-time requests had raised the share again.
 * Plain: the scheduler calls it on its own thread.
 */
final class DeadlineShare {
  private final RuntimeSettings.Admission settings;
  private final double start;
  private double share;

  DeadlineShare(RuntimeSettings.Admission settings) {
    this.settings = settings;
    this.start = withinBounds(settings.predictedShare());
    this.share = start;
  }

  /** The share of a deadline a prediction may take now. */
  double value() {
    return share;
  }

  /**
   * How far the share is from its floor towards its ceiling, 0 to 1: 1 while admitted requests are
   * on time, falling as they come out late (1 when floor and ceiling are one).
   */
  double trust() {
    double range = settings.maxShare() - settings.minShare();
    return range <= 0 ? 1 : Math.max(0, Math.min(1, (share - settings.minShare()) / range));
  }

  /** When a request submitted at {@code submitted} with this deadline counts as late. */
  long lateAfterNanos(long submitted, long deadlineNanos) {
    return submitted + (long) (deadlineNanos * settings.lateAt());
  }

  /** A request that admission could have refused has finished, late or not. */
  void finished(boolean late) {
    double q = settings.lateFraction();
    double next = late ? share - settings.step() * (1 - q) : share + settings.step() * q;
    share = withinBounds(next);
  }

  /** The runtime has been idle (nothing in flight) for {@code idleNanos}. */
  void idle(long idleNanos) {
    long tau = settings.idleRelaxation().toNanos();
    if (tau > 0 && idleNanos > 0) {
      share += (start - share) * -Math.expm1(-(double) idleNanos / tau);
    }
  }

  private double withinBounds(double s) {
    return Math.max(settings.minShare(), Math.min(settings.maxShare(), s));
  }
}
