package dev.exitflow.actors;

/**
 * Feeds the {@link DepthController} on the scheduler's tick with the load since the previous
 * tick: the worst stage's queueing delay now, the share of the compute budget the workers were
 * busy, and whether admission refused anything; and, for its feed-forward, the rate of admitted
 * {@code auto} requests by priority and each stage's compute per
 * request. Plain: the scheduler calls it on its own thread.
 */
final class ControllerFeed {
  private final DepthController controller;
  private final StageDispatch stages;
  private final WorkerPool workers;
  private final Admission admission;
  private long rejectedAtLastTick;
  private long busyAtLastTick;
  private long lastTick = System.nanoTime();
  private final long[] autoAtLastTick = new long[Priority.values().length];
  private final double[] autoPerSecond = new double[Priority.values().length];
  private final double smoothingSeconds;

  ControllerFeed(DepthController controller, StageDispatch stages, WorkerPool workers, Admission admission) {
    this.controller = controller;
    this.stages = stages;
    this.workers = workers;
    this.admission = admission;
    // Arrivals are read through half the pressure's smoothing: a load step shows within a tenth of a second.
    this.smoothingSeconds = controller.settings().smoothing().toNanos() / 2e9;
  }

  void tick(long now) {
    long busy = workers.busyNanos();
    double utilization = (double) (busy - busyAtLastTick) / Math.max(1, now - lastTick) / workers.computeCapacity();
    double dt = Math.max(1, now - lastTick) / 1e9;
    double alpha = 1 - Math.exp(-dt / smoothingSeconds);
    for (int p = 0; p < autoPerSecond.length; p++) {
      autoPerSecond[p] += alpha * ((admission.autoAdmitted[p] - autoAtLastTick[p]) / dt - autoPerSecond[p]);
      autoAtLastTick[p] = admission.autoAdmitted[p];
    }
    controller.feedForward(autoPerSecond, nanosPerRequest(), workers.computeCapacity());
    controller.update(stages.worstQueueDelayNanos(now), admission.rejected > rejectedAtLastTick, utilization);
    rejectedAtLastTick = admission.rejected;
    busyAtLastTick = busy;
    lastTick = now;
  }

  /** Each stage's compute per request; a stage that has not run yet counts as the first. */
  private double[] nanosPerRequest() {
    StageBatcher[] queues = stages.queues();
    double[] nanos = new double[queues.length];
    for (int s = 0; s < queues.length; s++) {
      nanos[s] = queues[s].nanosPerRequest() > 0 ? queues[s].nanosPerRequest() : queues[0].nanosPerRequest();
    }
    return nanos;
  }
}
