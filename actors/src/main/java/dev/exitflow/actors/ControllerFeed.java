package dev.exitflow.actors;

/**
 * Feeds the {@link DepthController} on the scheduler's tick with the load since the previous
 * tick: the worst stage's queueing delay now, the share of the compute budget the workers were
 * busy, and whether admission refused anything; and, for its feed-forward, the rate of admitted
 * {@code auto} requests by priority and each stage's compute per request. Plain: the scheduler
 * calls it on its own thread.
 */
final class ControllerFeed {
  private final DepthController controller;
  private final StageDispatch stages;
  private final WorkerPool workers;
  private final Admission admission;
  private long rejectedAtLastTick;
  private long busyAtLastTick;
  private long lastTick = System.nanoTime();

  ControllerFeed(DepthController controller, StageDispatch stages, WorkerPool workers, Admission admission) {
    this.controller = controller;
    this.stages = stages;
    this.workers = workers;
    this.admission = admission;
  }

  void tick(long now) {
    long busy = workers.busyNanos();
    double utilization = (double) (busy - busyAtLastTick) / Math.max(1, now - lastTick) / workers.computeCapacity();
    controller.feedForward(admission.autoPerSecond(now), nanosPerRequest(), workers.computeCapacity());
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
      double own = queues[s].nanosPerRequest();
      nanos[s] = own > 0 ? own : queues[0].nanosPerRequest();
    }
    return nanos;
  }
}
