package dev.exitflow.actors;

import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.FeaturePolicy;
import java.util.List;
import java.util.function.Consumer;

/**
 * What the scheduler needs to know of the served model: its exit layers (one per stage, the
 * {@code reserveStages} first of them the reserve exit's: see {@link ReserveExit}) and each exit's
 * head, where its stages pool layer features,
 * where its workers come from, who hears of batches and exits, and who hears whenever the runtime
 * becomes able, or unable, to serve every exit (in a cluster, workers come and go).
 */
public record RuntimeLayout(List<Integer> exitLayers, int reserveStages, List<ExitHead> heads, FeaturePolicy features,
    WorkerSource workers, RuntimeListener listener, Consumer<Boolean> readiness) {
  int stages() {
    return exitLayers.size();
  }

  boolean clustered() {
    return workers instanceof WorkerSource.Discovered;
  }

  /**
   * Runtime stage numbers (1 = the first) as configuration counts them ({@code worker-stages},
   * {@code stage-providers}): the plan's stages, the reserve exit's stage being the first's.
   */
  List<Integer> configuredStageNumbers(List<Integer> stages) {
    return stages.stream().map(s -> Math.max(1, s - reserveStages)).distinct().toList();
  }
}
