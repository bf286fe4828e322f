package dev.exitflow.actors;

import java.util.SplittableRandom;

/**
 * The decision at an exit point: does a request leave after the stage it just finished, or
 * continue to the next? Promise policies ({@code shallow}, {@code deep}, an exact layer) leave
 * exactly at their target. {@code auto} continues only while the depth controller allows it for
 * the request's priority and the next stage's expected wait plus compute fits its deadline, and never
 * leaves below its floor ({@code Pending.minStage}: the first exit with an adapter whose fidelity
 * meets the request's {@code min_fidelity}, or the deep one) nor at an exit no faster than the next.
 */
final class ExitRouter {
  /** Leave now, and why; or continue (reason null). */
  record Decision(boolean exit, ExitReason reason) {
    static final Decision CONTINUE = new Decision(false, null);

    static Decision exit(ExitReason reason) {
      return new Decision(true, reason);
    }
  }

  private final ExitRules rules;
  private final DepthController controller;
  private final SplittableRandom random = new SplittableRandom();

  ExitRouter(ExitRules rules, DepthController controller) {
    this.rules = rules;
    this.controller = controller;
  }

  /**
   * Where {@code p} goes after {@code finishedStage}, with the depth the controller allows its
   * priority now and the next stage's expected wait plus compute.
   */
  Decision decide(Pending p, int finishedStage, long nextStageNanos, long now) {
    int allowed = controller.allowedStage(p.request.priority(), random.nextDouble());
    // An exit head not applied (at the reserve exit, for a request whose deadline was not at risk) leaves no embedding.
    return decide(p, finishedStage, rules.lastStage(), allowed, nextStageNanos, now,
        !p.isAuto() || (rules.autoMayLeaveAt(p, finishedStage) && p.embedding != null));
  }

  /**
   * Whether {@code p} may continue past {@code finishedStage} by {@link #decide}: only then does the
   * scheduler need its hidden state after that stage. A promise policy stops at its target and
   * every request at the last stage, whatever the load.
   */
  static boolean mayGoOn(Pending p, int finishedStage, int lastStage) {
    return finishedStage < lastStage && (p.isAuto() || finishedStage < p.targetStage);
  }

  /**
   * {@code usable}: an {@code auto} request may leave at this exit at all (see
   * {@link ExitRules#autoMayLeaveAt}); when not, neither load nor deadline stops it here.
   */
  static Decision decide(Pending p, int finishedStage, int lastStage, int allowedStage, long nextStageNanos, long now,
      boolean usable) {
    if (!p.isAuto()) {
      return finishedStage >= p.targetStage ? Decision.exit(ExitReason.POLICY) : Decision.CONTINUE;
    }
    if (finishedStage >= lastStage) {
      return Decision.exit(ExitReason.POLICY);
    }
    if (!usable) {
      return Decision.CONTINUE; // below the quality floor, or an exit no faster than the next
    }
    if (finishedStage >= allowedStage) {
      return Decision.exit(ExitReason.LOAD);
    }
    if (now + nextStageNanos > p.deadlineNanos) {
      return Decision.exit(ExitReason.DEADLINE);
    }
    return Decision.CONTINUE;
  }
}
