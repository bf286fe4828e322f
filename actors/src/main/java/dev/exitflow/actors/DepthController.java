package dev.exitflow.actors;

/**
 * Decides how deep {@code auto} traffic may go, from the pressure on the stage queues.
 *
 * <p>Its state is one number, the degradation level, from 0 (every exit allowed) to
 * 2 x (stages - 1) (only the first exit, for everyone). The first stages - 1 levels take depth
 * from {@code bulk} traffic one exit at a time; the next ones from {@code interactive}. A
 * fractional level sends that fraction of requests one exit shallower, so the exit mix moves
 * smoothly rather than in jumps.
 *
 * <p>Pressure is the worst stage's expected queueing delay over the target. Above
 * {@code lower-above} the level rises by {@code step} per check; below {@code raise-below} it falls
 * by half a step (recovering more slowly than degrading keeps load near capacity from
 * oscillating); in between it holds (hysteresis).
 */
final class DepthController {
  private final int lastStage;
  private final RuntimeSettings.Controller settings;
  private double level;

  DepthController(int stages, RuntimeSettings.Controller settings) {
    this.lastStage = stages - 1;
    this.settings = settings;
  }

  double level() {
    return level;
  }

  double maxLevel() {
    return 2.0 * lastStage;
  }

  /** One check: {@code pressure} is expected queueing delay divided by the target delay. */
  void update(double pressure) {
    if (pressure > settings.lowerAbove()) {
      level = Math.min(maxLevel(), level + settings.step());
    } else if (pressure < settings.raiseBelow()) {
      level = Math.max(0, level - settings.step() / 2);
    }
  }

  /**
   * Deepest stage (0-based) after which {@code auto} traffic of this priority may still continue
   * to be served, for one request; {@code uniform} is a random draw in [0, 1) that picks the
   * request's side of a fractional level.
   */
  int allowedStage(Priority priority, double uniform) {
    int whole = (int) Math.floor(level);
    int effective = Math.min((int) maxLevel(), whole + (uniform < level - whole ? 1 : 0));
    int taken = priority == Priority.BULK
        ? Math.min(effective, lastStage)
        : Math.max(0, effective - lastStage);
    return lastStage - taken;
  }
}
