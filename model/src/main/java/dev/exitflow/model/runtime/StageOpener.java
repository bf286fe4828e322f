package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.calibrate.NeuronRanking;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.compile.StageSpec;
import dev.exitflow.model.plan.Plan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a compiled model's stage sessions and exit heads as its plan says, for the engine
 * ({@link StagedEncoder}: every stage and head at once) and for the actor runtime (a session per
 * worker, the heads once). What each exit applies is decided here, once: its distilled branch
 * ({@link BranchSession}) if one is saved, else its saved adapter, else plain pooling (branches and
 * adapters are on or off together), and from that where layer features are pooled
 * ({@link FeaturePolicy}). Each call opens new sessions, which the caller owns and closes.
 */
public final class StageOpener {
  private static final Logger LOG = LoggerFactory.getLogger(StageOpener.class);
  private final ModelDescriptor model;
  private final CompiledModel compiled;
  private final ModelSettings settings;
  private final Plan plan;
  private final ExitAdapters adapters;
  /** Per stage, the saved branch its exit runs, or null. */
  private final Path[] branches;
  private final FeaturePolicy features;

  private StageOpener(ModelDescriptor model, CompiledModel compiled, ModelSettings settings, Plan plan,
      ExitAdapters adapters, boolean useBranches, boolean calibration) {
    this.model = model;
    this.compiled = compiled;
    this.settings = settings;
    this.plan = plan;
    this.adapters = adapters;
    List<StageSpec> stages = compiled.stages();
    this.branches = new Path[stages.size()];
    ExitAdapter[] applied = new ExitAdapter[stages.size()];
    for (int s = 0; s < stages.size(); s++) {
      int layer = stages.get(s).lastLayer();
      branches[s] = useBranches ? BranchSession.saved(compiled, layer) : null;
      applied[s] = branches[s] != null ? null : adapters.forLayer(layer); // a branch wins over the adapter
    }
    this.features = calibration ? FeaturePolicy.calibration(stages.size()) : FeaturePolicy.of(applied);
  }

  /**
   * The model run as {@code plan} says: cut at its exits with its blocks dropped (compiled or found
   * in the cache), its keep ratios pruning tokens between stages, and the saved adapters (and
   * branches) of those compiled stages when the plan and the settings both enable them.
   * {@code model} is the plan's model, resolved.
   */
  public static StageOpener load(ModelDescriptor model, ModelSettings settings, Plan plan) {
    ModelDescriptor planned = plan.apply(model);
    return of(planned, compile(planned, settings, plan), settings, plan);
  }

  /** As {@link #load} for a model compiled already: {@code planned} is the plan applied to the model. */
  public static StageOpener of(ModelDescriptor planned, CompiledModel compiled, ModelSettings settings, Plan plan) {
    ModelSettings enabled = settings.withAdapters(settings.adaptersEnabled() && plan.useAdapters());
    return new StageOpener(planned, compiled, settings, plan, saved(compiled, enabled), enabled.adaptersEnabled(),
        false);
  }

  /** The model as it comes with the given adapters instead of the saved ones (saved branches still win). */
  public static StageOpener withAdapters(ModelDescriptor model, ModelSettings settings, ExitAdapters adapters) {
    CompiledModel compiled = new StageCache(settings.cacheDir()).load(model);
    return new StageOpener(model, compiled, settings, Plan.of(model.name()), adapters, settings.adaptersEnabled(),
        false);
  }

  /**
   * The stages of {@code plan} (its exits and drops) without adapters or branches, every stage
   * before the deep one pooling the features adapters are fitted on. Its keep ratios are not
   * applied: adapters are fitted on every token and saved beside the compiled stages, which plans
   * that differ only in pruning share.
   */
  public static StageOpener forCalibration(ModelDescriptor model, ModelSettings settings, Plan plan) {
    ModelDescriptor planned = plan.apply(model);
    Plan unpruned = new Plan(plan.name(), plan.model(), plan.exits(), false, List.of(), plan.drops(), plan.mlpKeep(), null, null);
    return new StageOpener(planned, compile(planned, settings, plan), settings, unpruned, ExitAdapters.none(), false,
        true);
  }

  /** The stages of {@code planned} (the plan applied to its model) with the plan's drops and neuron slices, compiled or found in the cache. */
  public static CompiledModel compile(ModelDescriptor planned, ModelSettings settings, Plan plan) {
    return new StageCache(settings.cacheDir()).load(planned, plan.drops(), NeuronRanking.slices(planned, settings, plan));
  }

  /** The model with the plan's exits. */
  public ModelDescriptor model() {
    return model;
  }

  public CompiledModel compiled() {
    return compiled;
  }

  public ModelSettings settings() {
    return settings;
  }

  public Plan plan() {
    return plan;
  }

  /** The adapters the exits may apply (none when not calibrated or disabled; a branch replaces its exit's). */
  public ExitAdapters adapters() {
    return adapters;
  }

  public FeaturePolicy features() {
    return features;
  }

  /** A session of stage {@code stage} (0-based) with the served settings. */
  public StageSession openStage(int stage) throws OrtException {
    return openStage(stage, settings);
  }

  /**
   * A session of stage {@code stage} on the first of {@code worker}'s execution providers that
   * works (a worker may have its own), pruning as the plan says. Where the policy pools features
   * it fetches the layers' states; with adapters (and pooling in ONNX Runtime on) it pools them,
   * and applies its exit's adapter, in ONNX Runtime ({@link ExitPoolingSession}), else in Java
   * (calibration).
   */
  public StageSession openStage(int stage, ModelSettings worker) throws OrtException {
    StageSpec spec = compiled.stages().get(stage);
    OrtEnvironment env = OrtSessions.environment(worker);
    OrtSession session = ExecutionProviders.open(env, compiled.stageFile(spec), worker.providers(),
        () -> OrtSessions.stageOptions(worker));
    boolean collects = features.collects(stage);
    ExitPoolingSession pooling = null;
    if (collects && !adapters.isEmpty() && worker.poolInOnnxRuntime()) {
      List<String> layers = new ArrayList<>();
      spec.layerOutputs().forEach(o -> layers.add(o.name()));
      layers.add(spec.output());
      try (OrtSession.SessionOptions options = OrtSessions.stageOptions(worker)) {
        pooling = new ExitPoolingSession(env, layers, compiled.hiddenSize(), stage > 0,
            stage > 0 ? LayerFeatures.width(spec.firstLayer() - 1, compiled.hiddenSize()) : 0,
            features.adapter(stage), options);
      } catch (OrtException | RuntimeException e) {
        session.close();
        throw e;
      }
    }
    return new StageSession(env, session, spec, compiled.hiddenSize(), collects, plan.keepRatioInto(stage), pooling,
        plan.mergesPruned(), plan.prunesByRedundancy());
  }

  /** One exit head per stage: its branch, its adapter (applied on ONNX Runtime) or plain pooling. */
  public List<ExitHead> openHeads() throws OrtException {
    OrtEnvironment env = OrtSessions.environment(settings);
    List<ExitHead> heads = new ArrayList<>();
    try (OrtSession.SessionOptions options = OrtSessions.stageOptions(settings)) {
      for (int s = 0; s < compiled.stages().size(); s++) {
        heads.add(head(s, env, options));
      }
    } catch (OrtException | RuntimeException e) {
      for (ExitHead h : heads) {
        h.close();
      }
      throw e;
    }
    return heads;
  }

  private ExitHead head(int stage, OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException {
    int layer = compiled.stages().get(stage).lastLayer();
    if (branches[stage] != null) {
      return new ExitHead(model.pooling(), compiled.hiddenSize(),
          new BranchSession(env, branches[stage], layer, compiled.hiddenSize(), options));
    }
    ExitAdapter adapter = features.adapter(stage);
    return adapter == null
        ? new ExitHead(model.pooling(), compiled.hiddenSize())
        : new ExitHead(model.pooling(), compiled.hiddenSize(), adapter, adapters.notFaster(layer), env, options);
  }

  private static ExitAdapters saved(CompiledModel compiled, ModelSettings settings) {
    if (!settings.adaptersEnabled()) {
      return ExitAdapters.none();
    }
    ExitAdapters saved = ExitAdapters.load(compiled, compiled.stages().stream().map(StageSpec::lastLayer).toList());
    if (saved.isEmpty()) {
      List<String> otherwise = ExitAdapters.fittedOtherwise(compiled);
      if (!otherwise.isEmpty()) {
        LOG.warn("{}: the adapters saved for {} do not fit this descriptor and are not used; run './exitflow "
            + "calibrate' for it", compiled.model(), String.join("; ", otherwise));
      }
    }
    return saved;
  }
}
