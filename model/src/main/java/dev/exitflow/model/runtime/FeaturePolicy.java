package dev.exitflow.model.runtime;

import dev.exitflow.model.adapter.ExitAdapter;

/**
 * Where a served model pools the layer features exit adapters read, decided once when its stages
 * are opened ({@link StageOpener}) and asked by everything that runs them: the engine, the actor
 * runtime's scheduler (per batch) and the stage sessions its workers open. Features are cumulative
 * ([layer 0 | ... | layer k], see {@link LayerFeatures}), so a stage pools them when an exit at or
 * after it applies an adapter. An exit whose distilled branch ({@link BranchSession}) replaces its
 * adapter reads none: its stage neither pools for it nor applies its adapter.
 */
public final class FeaturePolicy {
  /** Per stage, the adapter its exit's head applies to the features; null for none (pooling, or a branch). */
  private final ExitAdapter[] applied;
  /** Calibration: every stage but the deep one pools for every batch, whatever the exit. */
  private final boolean everyBatch;

  private FeaturePolicy(ExitAdapter[] applied, boolean everyBatch) {
    this.applied = applied;
    this.everyBatch = everyBatch;
  }

  /** {@code applied[s]}: the adapter the head of stage s's exit applies, or null. */
  static FeaturePolicy of(ExitAdapter[] applied) {
    return new FeaturePolicy(applied.clone(), false);
  }

  /** For fitting adapters: every stage before the deep one pools the features of every batch. */
  static FeaturePolicy calibration(int stages) {
    return new FeaturePolicy(new ExitAdapter[stages], true);
  }

  /** The adapter applied at stage {@code stage}'s exit, which its stage may fold into its pooling; null for none. */
  public ExitAdapter adapter(int stage) {
    return applied[stage];
  }

  /** Whether the exit after {@code stage} reads features (its head applies an adapter). */
  public boolean reads(int stage) {
    return applied[stage] != null;
  }

  /** Whether stage {@code stage} ever pools features: its session is opened to fetch its layers' states. */
  public boolean collects(int stage) {
    return needed(stage, stage, applied.length - 1);
  }

  /**
   * Whether a batch at {@code stage} must pool features when its texts may leave at the exits of
   * stages {@code from..to}: some exit among them, at or after this stage, reads them. A batch that
   * can only leave where no adapter reads skips fetching and pooling every inner layer.
   */
  public boolean needed(int stage, int from, int to) {
    if (everyBatch) {
      return stage < applied.length - 1;
    }
    for (int e = Math.max(stage, from); e <= to; e++) {
      if (applied[e] != null) {
        return true;
      }
    }
    return false;
  }
}
