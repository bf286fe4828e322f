package dev.exitflow.actors;

import com.typesafe.config.Config;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.plan.Plan;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reserve exit ({@code exitflow.actors.reserve-exit-layer}): a layer shallower than the served
 * model's first exit, cut as a stage of its own, where {@code auto} requests leave only when their
 * deadline demands it (see {@link ExitRules}). A batch none of whose members is at risk runs
 * through the reserve's stage and the next at one worker ({@link StageWorker.Run#through}), and
 * admission trusts the reserve to take a burst while requests are on time ({@link Admission}).
 * Here: the plan the runtime compiles with it.
 */
public final class ReserveExit {
  private static final Logger LOG = LoggerFactory.getLogger(ReserveExit.class);

  private ReserveExit() {}

  /**
   * {@code plan} as the runtime runs it: with the reserve exit {@code config} asks for, when it
   * adds one. The commands that calibrate or evaluate a model use it too, so they fit and measure
   * the stages {@code serve} runs.
   */
  public static Plan apply(Plan plan, ModelDescriptor model, Config config) {
    int layer = RuntimeSettings.create(config).reserveExitLayer();
    if (layer > 0 && !plan.keepRatios().isEmpty()) {
      LOG.info("no reserve exit at layer {}: plan '{}' prunes tokens between its stages", layer, plan.name());
    }
    return apply(plan, model, layer);
  }

  /**
   * {@code plan} with {@code layer} added as its shallowest exit, or {@code plan} itself when there
   * is none to add: {@code layer} 0, not shallower than the plan's first exit, or a plan that prunes
   * tokens (its keep ratios are one per stage boundary, and a new boundary would need one).
   */
  static Plan apply(Plan plan, ModelDescriptor model, int layer) {
    if (!applies(plan, model, layer)) {
      return plan;
    }
    List<Integer> withReserve = new ArrayList<>(List.of(layer));
    withReserve.addAll(plan.apply(model).exitLayers());
    return new Plan(plan.name(), plan.model(), withReserve, plan.useAdapters(), plan.keepRatios(), plan.drops(),
        plan.mlpKeep(), plan.mergePruned(), plan.pruneBy());
  }

  private static boolean applies(Plan plan, ModelDescriptor model, int layer) {
    return layer > 0 && layer < plan.apply(model).exitLayers().get(0) && plan.keepRatios().isEmpty();
  }
}
