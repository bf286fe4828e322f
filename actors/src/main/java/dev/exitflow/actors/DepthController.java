package dev.exitflow.actors;

/**
 * Decides how deep {@code auto} traffic may go, from the pressure on the stage queues.
 *
 * <p>Its state is one number, the degradation level, from 0 (every exit allowed) to
 * 2 x (exits - 1) (only the first exit, for everyone; a reserve exit before it is never allowed
 * for load, see {@link ExitRules}). The first exits - 1 levels take depth
 * from {@code bulk} traffic one exit at a time; the next ones from {@code interactive}. A
 * fractional level sends that fraction of requests one exit shallower, so the exit mix moves
 * smoothly rather than in jumps.
 *
 * <p>Pressure is the worst stage's expected queueing delay over the target, or the share of the
 * node's compute in use over its target share when that is worse, smoothed over {@code smoothing}.
 * Queueing delay alone is seen only at saturation, and a queue grows fast there: a controller
 * reading only it gave depth back until the queues spiked, then took it again, a cycle of about
 * 2.5 s with p99 spikes of 500-800 ms under 2x overload. Utilization grows in proportion to the
 * load before the queues do, so depth comes back only while there is room for it.
 *
 * <p>The level follows the pressure by proportional-integral control: it moves by
 * {@code proportional} times the change of the error (pressure - 1) and by {@code integral} times
 * the error per second (a share of that while recovering), so it settles where the queues sit at
 * the target instead of stepping up and down around it (the fixed steps it replaced saw-toothed
 * with a period of about a second at steady overload). The level is clamped to its range, which
 * also stops the integral winding up.
 */
final class DepthController {
  private final int lastStage;
  /** The shallowest stage load may stop at: the first exit, after a reserve exit if there is one. */
  private final int firstStage;
  private final RuntimeSettings.Controller settings;
  private double level;
  private double pressure;
  private double lastError;
  /** The level the arrival rate needs (see {@link #feedForward}), a floor under the controller's own. */
  private double floor;

  DepthController(int stages, int reserveStages, RuntimeSettings.Controller settings) {
    this.lastStage = stages - 1;
    this.firstStage = reserveStages;
    this.settings = settings;
  }

  double level() {
    return level;
  }

  double maxLevel() {
    return 2.0 * (lastStage - firstStage);
  }

  /** The smoothed pressure the level was last set from. */
  double pressure() {
    return pressure;
  }

  /**
   * One check, {@code interval} after the previous one: {@code measured} is the worst stage's
   * expected queueing delay divided by the target delay.
   */
  void update(double measured) {
    double dt = settings.interval().toNanos() / 1e9;
    double alpha = 1 - Math.exp(-dt / (settings.smoothing().toNanos() / 1e9));
    pressure += alpha * (measured - pressure);
    // A queue far over its target says "more" as loudly as one just over it: clamping the error
    // keeps one burst from throwing the level to its end and the recovery from taking seconds.
    double error = Math.max(-1, Math.min(settings.maxError(), pressure - 1));
    // Depth comes back more slowly than it goes: a lull between bursts of an overload should not
    // send a wave of requests deeper just before the next burst.
    double integral = settings.integral() * (error < 0 ? settings.recoveryShare() : 1);
    double next = level + settings.proportional() * (error - lastError) + integral * error * dt;
    level = Math.max(floor, Math.max(0, Math.min(maxLevel(), next)));
    lastError = error;
  }

  /**
   * Feed-forward from the arrival rate: {@code autoPerSecond} {@code auto} requests a second by
   * priority ordinal, each costing {@code nanosPerRequest[s]} of compute at stage s, on a node that
   * computes {@code slots} batches at once. When they would need more than {@code feedForwardAbove}
   * of its compute at the current level, the level is raised at once to the lowest that fits them
   * under the target utilization; otherwise the feedback alone moves it.
   */
  void feedForward(double[] autoPerSecond, double[] nanosPerRequest, int slots) {
    double above = settings.feedForwardAbove();
    floor = 0;
    if (above <= 0 || utilizationAt(level, autoPerSecond, nanosPerRequest, slots) <= above) {
      return;
    }
    double needed = maxLevel();
    for (double l = Math.floor(level * 20) / 20; l < maxLevel(); l += 0.05) {
      if (utilizationAt(l, autoPerSecond, nanosPerRequest, slots) <= settings.targetUtilization()) {
        needed = l;
        break;
      }
    }
    floor = needed;
    level = Math.max(level, floor);
  }

  /** The share of the node's compute {@code auto} arrivals need at {@code level}. */
  double utilizationAt(double level, double[] autoPerSecond, double[] nanosPerRequest, int slots) {
    int whole = (int) Math.floor(level);
    double fraction = level - whole;
    double nanos = 0;
    for (Priority p : Priority.values()) {
      double rate = autoPerSecond[p.ordinal()];
      nanos += rate * ((1 - fraction) * throughStage(allowedStage(whole, p), nanosPerRequest)
          + fraction * throughStage(allowedStage(Math.min(whole + 1, (int) maxLevel()), p), nanosPerRequest));
    }
    return nanos / 1e9 / Math.max(1, slots);
  }

  private static double throughStage(int last, double[] nanosPerRequest) {
    double sum = 0;
    for (int s = 0; s <= last; s++) {
      sum += nanosPerRequest[s];
    }
    return sum;
  }

  /**
   * One check from what the scheduler sees: the worst stage's expected queueing delay, the share
   * of the compute budget busy since the previous check, and whether admission refused anything
   * then, which counts as at least twice the target (admission keeps the queues short under
   * overload, and short queues alone would give depth back).
   */
  void update(long worstQueueDelayNanos, boolean refused, double utilization) {
    double measured = (double) worstQueueDelayNanos / settings.targetQueueDelay().toNanos();
    double target = settings.targetUtilization();
    if (target < 1) { // utilization's error (u - target) / (1 - target): 0 at the target, 1 with every worker busy
      measured = Math.max(measured, 1 + (utilization - target) / (1 - target));
    }
    update(refused ? Math.max(measured, 2.0) : measured);
  }

  /**
   * Deepest stage (0-based) after which {@code auto} traffic of this priority may still continue
   * to be served, for one request; {@code uniform} is a random draw in [0, 1) that picks the
   * request's side of a fractional level.
   */
  int allowedStage(Priority priority, double uniform) {
    int whole = (int) Math.floor(level);
    return allowedStage(Math.min((int) maxLevel(), whole + (uniform < level - whole ? 1 : 0)), priority);
  }

  /** {@link #allowedStage(Priority, double)} at a whole level. */
  private int allowedStage(int effective, Priority priority) {
    int exits = lastStage - firstStage;
    int taken = priority == Priority.BULK
        ? Math.min(effective, exits)
        : Math.max(0, effective - exits);
    return lastStage - taken;
  }
}
