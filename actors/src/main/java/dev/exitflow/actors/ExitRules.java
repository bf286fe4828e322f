package dev.exitflow.actors;

import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.FeaturePolicy;
import java.util.List;

/**
 * The served model's exit rules, in one place: where a request's policy sends it, the shallowest
 * exit {@code auto} may take (calibrated exits only, at or above a quality floor), at which stages
 * a request may leave, and so when a stage must pool the layer features that adapters read and
 * apply its exit head, and what a request that leaves is told. Plain and stateless: the scheduler
 * asks, nothing here runs inference.
 *
 * <p>With a reserve exit ({@link ReserveExit}) the first stage ends at it and the exits requests
 * may name begin at stage {@link #firstServedStage}: only an {@code auto} request with a deadline
 * may leave at the reserve, and only by that deadline (the depth controller's allowed depth never
 * reaches it), so it is the step between the first exit and a refusal.
 */
final class ExitRules {
  private final List<Integer> exitLayers;
  private final List<ExitHead> heads;
  private final FeaturePolicy features;
  private final int lastStage;
  private final boolean autoUsesUncalibratedExits;
  private final int firstServedStage;

  ExitRules(List<Integer> exitLayers, int reserveStages, List<ExitHead> heads, FeaturePolicy features,
      boolean autoUsesUncalibratedExits) {
    this.exitLayers = List.copyOf(exitLayers);
    this.firstServedStage = reserveStages;
    this.heads = List.copyOf(heads);
    this.features = features;
    this.lastStage = exitLayers.size() - 1;
    this.autoUsesUncalibratedExits = autoUsesUncalibratedExits;
  }

  /** The exits a request may name (the reserve exit is not one). */
  List<Integer> exitLayers() {
    return exitLayers.subList(firstServedStage, exitLayers.size());
  }

  /** The stage of the first exit a request may name: 1 after a reserve exit, else 0. */
  int firstServedStage() {
    return firstServedStage;
  }

  int lastStage() {
    return lastStage;
  }

  int layer(int stage) {
    return exitLayers.get(stage);
  }

  /** Stage after which a promise policy exits; the last stage for deep and auto; -1 for a layer that is no exit. */
  int targetStage(EmbeddingRequest r) {
    ExitPolicy policy = r.exit();
    if (policy instanceof ExitPolicy.Shallow) { // the shallowest exit meeting the floor
      return r.minFidelity() == null ? firstServedStage : floorStage(r.minFidelity(), firstServedStage);
    }
    if (policy instanceof ExitPolicy.Exact exact) {
      int stage = exitLayers.indexOf(exact.layer());
      return stage < firstServedStage ? -1 : stage;
    }
    return lastStage;
  }

  /**
   * The shallowest stage whose exit {@code auto} may take: one with an adapter or a distilled branch (uncalibrated exits
   * serve only requests that name them) whose fidelity is at least {@code floor}, or the deep one. The reserve exit
   * counts only when calibrated.
   */
  int floorStage(Double floor) {
    return floorStage(floor, 0);
  }

  private int floorStage(Double floor, int from) {
    for (int s = from; s < lastStage; s++) {
      boolean calibrated = calibrated(s) || (floor == null && autoUsesUncalibratedExits && s >= firstServedStage);
      if (calibrated && (floor == null || fidelity(s) >= floor) && !notFasterThanNext(s)) {
        return s;
      }
    }
    return lastStage;
  }

  /**
   * Whether {@code auto} may leave after this stage: at or past its floor, and not at an exit that
   * calibration timed no faster than the next one (leaving there would save nothing); at the
   * reserve exit only with a deadline, the one reason to leave there.
   */
  boolean autoMayLeaveAt(Pending p, int stage) {
    return stage == lastStage || (stage >= p.minStage && !notFasterThanNext(stage)
        && (stage >= firstServedStage || p.deadlineNanos != Long.MAX_VALUE));
  }

  private boolean notFasterThanNext(int stage) {
    return stage < lastStage && heads.get(stage).notFasterThanNext();
  }

  /** The shallowest stage after which this request may leave: its target, or auto's floor. */
  int shallowestExit(Pending p) {
    return p.isAuto() ? p.minStage : p.targetStage;
  }

  /** Whether the request may leave right after {@code stage}: then that stage applies its exit head for it. */
  boolean mayLeaveAt(Pending p, int stage) {
    if (p.early != null && stage == firstServedStage) {
      return true; // the preview at the first exit
    }
    return p.isAuto() ? autoMayLeaveAt(p, stage) : stage == p.targetStage;
  }

  /**
   * Whether a request may still leave at an exit whose adapter reads layer features, at or after
   * {@code stage} (the served model's {@link FeaturePolicy} says which do): then they must be
   * pooled for it here. A deep request never needs them (unless it asked for a preview at an
   * adapted first exit), which spares the deep path.
   */
  boolean needsFeatures(Pending p, int stage) {
    // The preview's exit head reads the features of every stage up to the first exit's.
    if (p.early != null && stage <= firstServedStage && features.needed(stage, firstServedStage, firstServedStage)) {
      return true;
    }
    return p.isAuto() ? features.needed(stage, p.minStage, lastStage)
        : features.needed(stage, p.targetStage, p.targetStage);
  }

  /** An adapter or a distilled branch makes the exit imitate the deep one. */
  boolean calibrated(int stage) {
    return heads.get(stage).calibrated();
  }

  double fidelity(int stage) {
    return ExitQuality.fidelity(heads.get(stage), stage == lastStage);
  }

  /** The result of a request leaving after {@code stage}, from the embedding that stage's worker computed. */
  EmbeddingResult result(Pending p, int stage, ExitReason reason) {
    if (p.embedding == null) { // mayLeaveAt decides where a worker computes one; this would be a bug there
      throw new IllegalStateException("no embedding at exit " + layer(stage) + " for this request");
    }
    float[] vector = ExitHead.truncate(p.embedding, p.request.dimensions());
    return new EmbeddingResult(vector, layer(stage), reason, p.length(), p.tokens.truncated(),
        p.queueNanos / 1e6, p.computeNanos / 1e6, fidelity(stage));
  }
}
