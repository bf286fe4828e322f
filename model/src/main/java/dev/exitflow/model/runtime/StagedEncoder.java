package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The engine: a model's tokenizer, its compiled stages each in an ONNX Runtime session, and an
 * exit head per exit, all opened by a {@link StageOpener}. {@link #embed} runs texts synchronously
 * up to a chosen exit, batched by length; {@link #runBatch} runs one batch as given. (The actor
 * runtime does not use it: its workers open their own sessions from a {@link StageOpener}.)
 */
public final class StagedEncoder implements AutoCloseable {
  private final StageOpener opened;
  private final TextTokenizer tokenizer;
  private final List<StageSession> stages;
  private final List<ExitHead> heads;
  private final ExitPoints exits;

  private StagedEncoder(StageOpener opened, TextTokenizer tokenizer, List<StageSession> stages, List<ExitHead> heads) {
    this.opened = opened;
    this.tokenizer = tokenizer;
    this.stages = List.copyOf(stages);
    this.heads = List.copyOf(heads);
    this.exits = new ExitPoints(opened.model().exitLayers());
  }

  /** Compiles (or finds in the cache) the model's stages and opens a session for each; uses saved adapters if enabled. */
  public static StagedEncoder open(ModelDescriptor model, ModelSettings settings) throws OrtException {
    return open(model, settings, Plan.of(model.name()));
  }

  /** The model run as {@code plan} says (see {@link StageOpener#load}); {@code model} is the plan's model, resolved. */
  public static StagedEncoder open(ModelDescriptor model, ModelSettings settings, Plan plan) throws OrtException {
    return open(StageOpener.load(model, settings, plan));
  }

  /** Like {@link #open(ModelDescriptor, ModelSettings)} with the given adapters instead of the saved ones. */
  public static StagedEncoder open(ModelDescriptor model, ModelSettings settings, ExitAdapters adapters)
      throws OrtException {
    return open(StageOpener.withAdapters(model, settings, adapters));
  }

  /** Without adapters, but every stage before the deep one collects the features adapters are fitted on. */
  public static StagedEncoder openForCalibration(ModelDescriptor model, ModelSettings settings) throws OrtException {
    return openForCalibration(model, settings, Plan.of(model.name()));
  }

  /**
   * As {@link #openForCalibration(ModelDescriptor, ModelSettings)} on the stages of {@code plan}
   * (see {@link StageOpener#forCalibration}).
   */
  public static StagedEncoder openForCalibration(ModelDescriptor model, ModelSettings settings, Plan plan)
      throws OrtException {
    return open(StageOpener.forCalibration(model, settings, plan));
  }

  /** Every stage's session and every exit's head, as {@code opener} opens them. */
  public static StagedEncoder open(StageOpener opener) throws OrtException {
    List<StageSession> sessions = new ArrayList<>();
    TextTokenizer tokenizer = new TextTokenizer(opener.model());
    try {
      for (int s = 0; s < opener.compiled().stages().size(); s++) {
        sessions.add(opener.openStage(s));
      }
      return new StagedEncoder(opener, tokenizer, sessions, opener.openHeads());
    } catch (OrtException | RuntimeException e) {
      for (StageSession s : sessions) {
        s.close();
      }
      tokenizer.close();
      throw e;
    }
  }

  /** The adapters the exit heads apply (none when the model was not calibrated or they are disabled). */
  public ExitAdapters adapters() {
    return opened.adapters();
  }

  public ModelDescriptor model() {
    return opened.model();
  }

  /** The plan the engine runs (for an engine opened without one, its model's plain plan). */
  public Plan plan() {
    return opened.plan();
  }

  public CompiledModel compiled() {
    return opened.compiled();
  }

  /** Where its stages pool layer features. */
  public FeaturePolicy features() {
    return opened.features();
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
    return opened.settings().batchSize();
  }

  /** Most padded tokens per batch when the engine batches texts itself ({@link #embed}). */
  public int batchTokens() {
    return opened.settings().batchTokens();
  }

  public int hiddenSize() {
    return opened.compiled().hiddenSize();
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
    for (int[] range : TokenBudget.ranges(lengths, batchSize(), batchTokens())) {
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
    PaddedBatch states = null;
    for (int s = 0; s <= last; s++) {
      // Only the target exit's head reads features here.
      states = stages.get(s).run(batch, states, opened.features().needed(s, last, last));
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
