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
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine: a model's tokenizer, its compiled stages each in an ONNX Runtime session, and an
 * exit head per exit (with its calibrated adapter, if any). {@link #embed} runs texts
 * synchronously up to a chosen exit; the actor runtime instead drives {@link #stage(int)}
 * directly, batch by batch.
 */
public final class StagedEncoder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StagedEncoder.class);
  private final ModelDescriptor model;
  private final CompiledModel compiled;
  private final TextTokenizer tokenizer;
  private final List<StageSession> stages;
  private final List<ExitHead> heads;
  private final ExitAdapters adapters;
  private final ExitPoints exits;
  private final Plan plan;
  private final int batchSize;
  private final int batchTokens;
  /** The calibration encoder pools layer features for every batch, whatever the exit. */
  private boolean collectAlways;

  private StagedEncoder(ModelDescriptor model, CompiledModel compiled, TextTokenizer tokenizer,
      List<StageSession> stages, List<ExitHead> heads, ExitAdapters adapters, Plan plan, int batchSize,
      int batchTokens) {
    this.model = model;
    this.compiled = compiled;
    this.tokenizer = tokenizer;
    this.stages = List.copyOf(stages);
    this.heads = List.copyOf(heads);
    this.adapters = adapters;
    this.exits = new ExitPoints(model.exitLayers());
    this.plan = plan;
    this.batchSize = batchSize;
    this.batchTokens = batchTokens;
  }

  /**
   * Opens one more session of a compiled stage, e.g. for a worker that owns it, pruning and using
   * adapters as {@code plan} says. When the model has adapters (and they and the plan enable them)
   * the session collects the layer features they read.
   */
  public static StageSession openStage(CompiledModel compiled, StageSpec spec, ModelSettings settings, Plan plan)
      throws OrtException {
    ExitAdapters adapters = savedAdapters(compiled, planned(settings, plan));
    return openStage(compiled, spec, settings, spec.index() - 1 <= lastAdaptedStage(compiled, adapters),
        plan.keepRatioInto(spec.index() - 1), adapters);
  }

  /** The settings with adapters on only if both they and the plan enable them. */
  private static ModelSettings planned(ModelSettings settings, Plan plan) {
    return settings.withAdapters(settings.adaptersEnabled() && plan.useAdapters());
  }

  /**
   * A stage session on the first configured execution provider that works. With {@code adapters}
   * (and pooling in ONNX Runtime on), a stage that collects features pools them, and applies its
   * exit's adapter, in ONNX Runtime ({@link ExitPoolingSession}); without, in Java (calibration).
   */
  private static StageSession openStage(CompiledModel compiled, StageSpec spec, ModelSettings settings, boolean features,
      double keepRatio, ExitAdapters adapters) throws OrtException {
    OrtEnvironment env = OrtSessions.environment(settings);
    OrtSession session = ExecutionProviders.open(env, compiled.stageFile(spec), settings.providers(),
        () -> OrtSessions.stageOptions(settings));
    ExitPoolingSession pooling = null;
    if (features && !adapters.isEmpty() && settings.poolInOnnxRuntime()) {
      List<String> layers = new ArrayList<>();
      spec.layerOutputs().forEach(o -> layers.add(o.name()));
      layers.add(spec.output());
      try (OrtSession.SessionOptions options = OrtSessions.stageOptions(settings)) {
        pooling = new ExitPoolingSession(env, layers, compiled.hiddenSize(), spec.index() > 1,
            spec.index() > 1 ? LayerFeatures.width(spec.firstLayer() - 1, compiled.hiddenSize()) : 0,
            adapters.forLayer(spec.lastLayer()),
            options);
      } catch (OrtException | RuntimeException e) {
        session.close();
        throw e;
      }
    }
    return new StageSession(env, session, spec, compiled.hiddenSize(), features, keepRatio, pooling);
  }

  /** Compiles (or finds in the cache) the model's stages and opens a session for each; uses saved adapters if enabled. */
  public static StagedEncoder open(ModelDescriptor model, ModelSettings settings) throws OrtException {
    return open(model, settings, Plan.of(model.name()));
  }

  /**
   * The model run as {@code plan} says: cut at its exits with its blocks dropped (compiled or found
   * in the cache), its keep ratios pruning tokens between stages, and the saved adapters of those
   * compiled stages when the plan and the settings both enable them. {@code model} is the plan's
   * model, resolved.
   */
  public static StagedEncoder open(ModelDescriptor model, ModelSettings settings, Plan plan) throws OrtException {
    ModelDescriptor planned = plan.apply(model);
    CompiledModel compiled = new StageCache(settings.cacheDir()).load(planned, plan.drops(),
        NeuronRanking.slices(planned, settings, plan));
    ExitAdapters adapters = plan.useAdapters() ? savedAdapters(compiled, settings) : ExitAdapters.none();
    return open(planned, settings, compiled, adapters, lastAdaptedStage(compiled, adapters), plan);
  }

  /** Like {@link #open(ModelDescriptor, ModelSettings)} with the given adapters instead of the saved ones. */
  public static StagedEncoder open(ModelDescriptor model, ModelSettings settings, ExitAdapters adapters)
      throws OrtException {
    CompiledModel compiled = new StageCache(settings.cacheDir()).load(model);
    return open(model, settings, compiled, adapters, lastAdaptedStage(compiled, adapters), Plan.of(model.name()));
  }

  /** Without adapters, but every stage before the deep one collects the features adapters are fitted on. */
  public static StagedEncoder openForCalibration(ModelDescriptor model, ModelSettings settings) throws OrtException {
    return openForCalibration(model, settings, Plan.of(model.name()));
  }

  /**
   * Like {@link #openForCalibration(ModelDescriptor, ModelSettings)} on the stages of {@code plan}
   * (its exits and drops). Its keep ratios are not applied: adapters are fitted on every token and
   * saved beside the compiled stages, which plans that differ only in pruning share.
   */
  public static StagedEncoder openForCalibration(ModelDescriptor model, ModelSettings settings, Plan plan)
      throws OrtException {
    ModelDescriptor planned = plan.apply(model);
    CompiledModel compiled = new StageCache(settings.cacheDir()).load(planned, plan.drops(),
        NeuronRanking.slices(planned, settings, plan));
    Plan unpruned = new Plan(plan.name(), plan.model(), plan.exits(), false, List.of(), plan.drops(), plan.mlpKeep());
    StagedEncoder encoder = open(planned, settings, compiled, ExitAdapters.none(), false,
        compiled.stages().size() - 2, unpruned);
    encoder.collectAlways = true;
    return encoder;
  }

  private static StagedEncoder open(ModelDescriptor model, ModelSettings settings, CompiledModel compiled,
      ExitAdapters adapters, int lastFeatureStage, Plan plan) throws OrtException {
    return open(model, settings, compiled, adapters, planned(settings, plan).adaptersEnabled(), lastFeatureStage, plan);
  }

  /** {@code branches}: whether exit heads run the saved distilled branches (see {@link BranchSession}). */
  private static StagedEncoder open(ModelDescriptor model, ModelSettings settings, CompiledModel compiled,
      ExitAdapters adapters, boolean branches, int lastFeatureStage, Plan plan) throws OrtException {
    OrtEnvironment env = OrtSessions.environment(settings);
    List<StageSession> sessions = new ArrayList<>();
    List<ExitHead> heads = new ArrayList<>();
    TextTokenizer tokenizer = new TextTokenizer(model);
    try (OrtSession.SessionOptions options = OrtSessions.stageOptions(settings)) { // for the adapter heads
      for (StageSpec spec : compiled.stages()) {
        sessions.add(openStage(compiled, spec, settings, spec.index() - 1 <= lastFeatureStage,
            plan.keepRatioInto(spec.index() - 1), adapters));
        heads.add(head(model, compiled, adapters, branches, spec.lastLayer(), env, options));
      }
    } catch (OrtException | RuntimeException e) {
      for (StageSession s : sessions) {
        s.close();
      }
      for (ExitHead h : heads) {
        h.close();
      }
      tokenizer.close();
      throw e;
    }
    return new StagedEncoder(model, compiled, tokenizer, sessions, heads, adapters, plan, settings.batchSize(),
        settings.batchTokens());
  }

  /**
   * The exit heads of a compiled model, one per stage, with its saved adapters when enabled: for a
   * runtime that opens its stage sessions apart (one worker each) and needs the heads too.
   */
  public static List<ExitHead> openHeads(ModelDescriptor model, CompiledModel compiled, ModelSettings settings,
      Plan plan) throws OrtException {
    ExitAdapters adapters = savedAdapters(compiled, planned(settings, plan));
    OrtEnvironment env = OrtSessions.environment(settings);
    List<ExitHead> heads = new ArrayList<>();
    try (OrtSession.SessionOptions options = OrtSessions.stageOptions(settings)) {
      for (StageSpec spec : compiled.stages()) {
        heads.add(head(model, compiled, adapters, planned(settings, plan).adaptersEnabled(), spec.lastLayer(), env,
            options));
      }
    }
    return heads;
  }

  private static ExitHead head(ModelDescriptor model, CompiledModel compiled, ExitAdapters adapters, boolean branches,
      int layer, OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException {
    // A distilled branch (./exitflow distill) wins over the adapter; both are on or off together.
    java.nio.file.Path branch = branches ? BranchSession.saved(compiled, layer) : null;
    if (branch != null) {
      return new ExitHead(model.pooling(), compiled.hiddenSize(),
          new BranchSession(env, branch, layer, compiled.hiddenSize(), options));
    }
    ExitAdapter adapter = adapters.forLayer(layer);
    return adapter == null
        ? new ExitHead(model.pooling(), compiled.hiddenSize())
        : new ExitHead(model.pooling(), compiled.hiddenSize(), adapter, adapters.notFaster(layer), env, options);
  }

  private static ExitAdapters savedAdapters(CompiledModel compiled, ModelSettings settings) {
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

  /** Index of the last stage whose exit has an adapter (-1 for none): stages up to it collect features. */
  private static int lastAdaptedStage(CompiledModel compiled, ExitAdapters adapters) {
    int last = -1;
    for (int i = 0; i < compiled.stages().size(); i++) {
      if (adapters.forLayer(compiled.stages().get(i).lastLayer()) != null) {
        last = i;
      }
    }
    return last;
  }

  /** The adapters the exit heads apply (none when the model was not calibrated or they are disabled). */
  public ExitAdapters adapters() {
    return adapters;
  }

  public ModelDescriptor model() {
    return model;
  }

  /** The plan the engine runs (for an engine opened without one, its model's plain plan). */
  public Plan plan() {
    return plan;
  }

  public CompiledModel compiled() {
    return compiled;
  }

  public ExitPoints exits() {
    return exits;
  }

  /** The head of the exit taken after stage {@code stage} (0-based). */
  public ExitHead head(int stage) {
    return heads.get(stage);
  }

  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  public StageSession stage(int index) {
    return stages.get(index);
  }

  /** Most texts per batch when the engine batches texts itself. */
  public int batchSize() {
    return batchSize;
  }

  /** Most padded tokens per batch when the engine batches texts itself ({@link #embed}). */
  public int batchTokens() {
    return batchTokens;
  }

  public int hiddenSize() {
    return compiled.hiddenSize();
  }

  /**
   * Embeds texts at the named exit ({@code "2"}, {@code "shallow"}, {@code "deep"}, ...) and returns
   * them in input order. {@code dimensions} null keeps the full size. Texts are grouped by token
   * length into batches of at most the configured size and padded tokens (see {@link TokenBudget}),
   * so short texts are not padded to long ones and long ones batch narrower.
   */
  public List<Embedding> embed(List<String> texts, String exit, Integer dimensions) throws OrtException {
    int last = exits.stageOf(exit);
    ExitHead head = head(last);
    head.checkDimensions(dimensions);
    List<TokenizedText> tokens = tokenizer.tokenize(texts);
    Integer[] order = new Integer[tokens.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> tokens.get(i).length()));
    Embedding[] out = new Embedding[tokens.size()];
    int[] lengths = new int[order.length];
    for (int i = 0; i < order.length; i++) {
      lengths[i] = tokens.get(order[i]).length();
    }
    for (int[] range : TokenBudget.ranges(lengths, batchSize, batchTokens)) {
      List<Integer> members = Arrays.asList(order).subList(range[0], range[1]);
      List<TokenizedText> batch = members.stream().map(tokens::get).toList();
      List<float[]> vectors = head.applyAll(runBatch(batch, last), dimensions);
      for (int k = 0; k < batch.size(); k++) {
        TokenizedText t = batch.get(k);
        out[members.get(k)] = new Embedding(vectors.get(k), exits.layers().get(last), t.length(), t.truncated());
      }
    }
    return Arrays.asList(out);
  }

  /** Runs one batch through stages 0..last, handing each stage's padded output to the next. */
  public PaddedBatch runBatch(List<TokenizedText> batch, int last) throws OrtException {
    boolean collect = collectAlways || heads.get(last).adapter() != null; // only the target exit's head reads them
    PaddedBatch states = null;
    for (int s = 0; s <= last; s++) {
      states = stages.get(s).run(batch, states, collect);
    }
    return states;
  }

  @Override
  public void close() throws OrtException {
    for (StageSession s : stages) {
      s.close();
    }
    for (ExitHead h : heads) {
      h.close();
    }
    tokenizer.close();
  }
}
