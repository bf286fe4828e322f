package dev.exitflow.actors;

import ai.onnxruntime.OrtException;
import com.typesafe.config.Config;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.calibrate.CalibrationSettings;
import dev.exitflow.model.calibrate.StartupCalibration;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageSpec;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.StageSession;
import dev.exitflow.model.runtime.FeaturePolicy;
import dev.exitflow.model.runtime.StageOpener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The model as the runtime serves it: run as the configured plan says ({@code exitflow.model.plan};
 * the model as it comes when none), compiled or found in the stage cache. Gateways and worker
 * nodes build it the same way, so their stages, adapters and keep ratios agree.
 */
record ServedModel(StageOpener stages, int reserveStages) {

  /** Compiles (or finds in the cache) {@code model} run as the configured plan. Blocks while compiling. */
  static ServedModel load(ModelDescriptor model, Config config) {
    ModelSettings settings = ModelSettings.create(config);
    Plan configured = configuredPlan(model, settings);
    Plan plan = ReserveExit.apply(configured, model, config);
    ModelDescriptor planned = plan.apply(model);
    int reserveStages = planned.exitLayers().size() - configured.apply(model).exitLayers().size();
    CompiledModel compiled = StageOpener.compile(planned, settings, plan);
    // Adapters missing: fitted here (blocking, like compiling) or a warning, as configured.
    StartupCalibration.ensure(model, settings, plan, compiled, CalibrationSettings.create(config));
    // The workers' sessions (stages, heads) on threads of their own, several batches at once.
    ModelSettings served = settings.withStageSessionThreads(RuntimeSettings.create(config).threadsPerRun());
    return new ServedModel(StageOpener.of(planned, compiled, served, plan), reserveStages);
  }

  /** The plan the runtime runs {@code model} as: the configured one, with the reserve exit if there is one. */
  static Plan plan(ModelDescriptor model, Config config) {
    return ReserveExit.apply(configuredPlan(model, ModelSettings.create(config)), model, config);
  }

  /** {@code exitflow.model.plan}, or the model as it comes when it names none. */
  private static Plan configuredPlan(ModelDescriptor model, ModelSettings settings) {
    if (settings.plan().isEmpty()) {
      return Plan.of(model.name());
    }
    Plan plan = Plan.read(Path.of(settings.plan()));
    // A plan file names its model, perhaps as a directory: resolve it to compare.
    String planModel = new ModelRepository(settings).resolve(plan.model()).name();
    if (!planModel.equals(model.name())) {
      throw new InvalidInputException("plan_model_mismatch",
          "plan '" + plan.name() + "' is for " + planModel + ", not " + model.name());
    }
    return plan;
  }

  /** The model with the plan's exits and the reserve exit, if any: one per stage. */
  ModelDescriptor model() {
    return stages.model();
  }

  /** The model with the exits requests may name: the reserve exit is the runtime's own. */
  ModelDescriptor servedModel() {
    List<Integer> layers = model().exitLayers();
    return model().withExitLayers(layers.subList(reserveStages, layers.size()));
  }

  Plan plan() {
    return stages.plan();
  }

  /**
   * Which of the configured plan's stages (from 0) the settings keyed by stage number
   * ({@code stage-providers}, {@code worker-stages}) mean for runtime stage {@code stage}: the
   * reserve exit's stage runs with the first exit's, so a configuration means the same stages with
   * a reserve exit or without.
   */
  int configuredStage(int stage) {
    return Math.max(0, stage - reserveStages);
  }

  CompiledModel compiled() {
    return stages.compiled();
  }

  ModelSettings settings() {
    return stages.settings();
  }

  /** Where the stages pool layer features (the scheduler asks it per batch, the workers' sessions open by it). */
  FeaturePolicy features() {
    return stages.features();
  }

  /** One exit head per stage, with the compiled stages' adapters (or branches) when the plan and settings enable them. */
  List<ExitHead> heads() {
    try {
      return stages.openHeads();
    } catch (OrtException e) {
      throw new IllegalStateException("cannot open the exit heads of " + model().name(), e);
    }
  }

  /** A session of stage {@code stage} (0-based) for a worker with these settings (its providers). */
  StageSession openStage(int stage, ModelSettings worker) throws OrtException {
    return stages.openStage(stage, worker);
  }

  /**
   * The Receptionist keys of the stages. They name the model, its compiled form (which includes
   * the plan's exits and drops) and its keep ratios, so a gateway never batches onto workers of
   * another model, version or plan.
   */
  List<ServiceKey<StageWorker.Command>> workerKeys() {
    String pruning = plan().keepRatios().isEmpty() ? ""
        : "-keep" + plan().keepRatios().stream().map(String::valueOf).collect(Collectors.joining("_"));
    List<ServiceKey<StageWorker.Command>> keys = new ArrayList<>();
    for (StageSpec spec : compiled().stages()) {
      keys.add(ServiceKey.create(StageWorker.Command.class, "exitflow-" + compiled().model() + "-"
          + compiled().directory().getFileName() + pruning + (plan().useAdapters() ? "" : "-plain")
          + "-stage-" + spec.index()));
    }
    return keys;
  }
}
