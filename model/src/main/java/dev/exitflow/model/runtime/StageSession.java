package dev.exitflow.model.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.compile.InputRole;
import dev.exitflow.model.compile.StageSpec;
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One compiled stage loaded into an ONNX Runtime session. {@link #run} pads a batch to its longest
 * member and runs the stage; the output keeps the padding so it can feed the next stage as is.
 * Not thread-safe by contract: one caller at a time (a worker actor owns one).
 */
public final class StageSession implements AutoCloseable {
  private final OrtEnvironment env;
  private final StageSpec spec;
  private final int hiddenSize;
  private final OrtSession session;
  private final boolean features;
  private final double keepRatio;
  private final boolean mergePruned;
  private final boolean pruneByRedundancy;
  private final Set<String> outputs;
  /** Pools the features and applies the exit's adapter inside ONNX Runtime; null: pooling in Java. */
  private final ExitPoolingSession exitPooling;

  /**
   * A session that also pools its layers' states into each text's features when {@code features}
   * (exit adapters read them, see {@link LayerFeatures}; {@link FeaturePolicy#collects} decides); otherwise only the hidden state is fetched.
   * {@code keepRatio} below 1 prunes the tokens it receives from the previous stage first (see
   * {@link TokenPruner}).
   */
  public StageSession(OrtEnvironment env, OrtSession session, StageSpec spec, int hiddenSize, boolean features,
      double keepRatio) {
    this(env, session, spec, hiddenSize, features, keepRatio, null, false, false);
  }

  /**
   * As above; {@code exitPooling}, when given, pools the features (and applies the exit's adapter)
   * in ONNX Runtime instead of Java. It is closed with this session. {@code mergePruned}: the tokens
   * it prunes are folded into their nearest kept ones (see {@link TokenPruner}) instead of dropped;
   * {@code pruneByRedundancy}: it prunes the most redundant tokens (ToMe's matching) instead of
   * those least similar to [CLS].
   */
  StageSession(OrtEnvironment env, OrtSession session, StageSpec spec, int hiddenSize, boolean features,
      double keepRatio, ExitPoolingSession exitPooling, boolean mergePruned, boolean pruneByRedundancy) {
    this.mergePruned = mergePruned;
    this.pruneByRedundancy = pruneByRedundancy;
    this.exitPooling = exitPooling;
    this.env = env;
    this.spec = spec;
    this.hiddenSize = hiddenSize;
    this.features = features;
    this.keepRatio = keepRatio;
    this.session = session;
    Set<String> wanted = new LinkedHashSet<>();
    wanted.add(spec.output());
    if (features) {
      spec.layerOutputs().forEach(o -> wanted.add(o.name()));
    }
    this.outputs = Set.copyOf(wanted);
  }

  public StageSpec spec() {
    return spec;
  }

  /** Fraction of the content tokens it receives that this stage keeps (1: all). */
  public double keepRatio() {
    return keepRatio;
  }

  /** Runs stage 1 on a batch of texts. */
  public PaddedBatch run(List<TokenizedText> tokens) throws OrtException {
    return run(tokens, null);
  }

  /**
   * Runs the stage on a batch. {@code previous} is the previous stage's output for exactly these
   * texts (null for stage 1); its tokens, pruned by earlier boundaries or not, are the ones this
   * stage runs on. The output's tokens are the ones this stage kept.
   */
  public PaddedBatch run(List<TokenizedText> tokens, PaddedBatch previous) throws OrtException {
    return run(tokens, previous, features);
  }

  /**
   * As {@link #run(List, PaddedBatch)}, pooling layer features only when {@code collect} (and the
   * session was opened to collect them): a batch that no adapter will read skips the fetching and
   * pooling of every inner layer.
   */
  public PaddedBatch run(List<TokenizedText> texts, PaddedBatch previous, boolean collect) throws OrtException {
    if (previous != null) {
      previous = TokenPruner.prune(previous, keepRatio, mergePruned, pruneByRedundancy);
    }
    List<TokenizedText> tokens = previous != null ? previous.tokens() : texts;
    int batch = tokens.size();
    int longest = previous != null ? previous.longest()
        : tokens.stream().mapToInt(TokenizedText::length).max().orElse(0);
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      for (StageSpec.Input in : spec.inputs()) {
        inputs.put(in.name(), tensor(in.role(), tokens, previous, batch, longest));
      }
      boolean pool = collect && features;
      try (OrtSession.Result result = NativeCalls.run(() -> session.run(inputs, pool ? outputs : Set.of(spec.output())))) {
        float[] values = floats(result, spec.output(), batch * longest);
        // Features so far ride along even through a stage that adds none.
        float[][] pooled = previous == null ? null : previous.features();
        if (pool && exitPooling != null) {
          ExitPoolingSession.Pooled p = exitPooling.run(result, tokens, longest, pooled);
          return new PaddedBatch(tokens, values, longest, hiddenSize, p.features(), p.adapted());
        }
        if (pool) {
          // Layers in order, this stage's output last: features read [layer 0 | ... | last layer].
          if (previous != null && pooled == null) {
            throw new IllegalStateException("stage " + spec.index() + " collects features but the previous stage did not");
          }
          for (StageSpec.LayerOutput o : spec.layerOutputs()) {
            pooled = LayerFeatures.append(pooled, floats(result, o.name(), batch * longest), tokens, longest, hiddenSize);
          }
          pooled = LayerFeatures.append(pooled, values, tokens, longest, hiddenSize);
        }
        return new PaddedBatch(tokens, values, longest, hiddenSize, pooled);
      }
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  private float[] floats(OrtSession.Result result, String name, int rows) {
    FloatBuffer out = ((OnnxTensor) result.get(name).orElseThrow()).getFloatBuffer();
    int size = rows * hiddenSize;
    // getFloatBuffer copies the native tensor into a fresh heap buffer: take its array, not a second copy.
    if (out.hasArray() && out.arrayOffset() == 0 && out.position() == 0 && out.array().length == size) {
      return out.array();
    }
    float[] values = new float[size];
    out.get(values);
    return values;
  }

  private OnnxTensor tensor(InputRole role, List<TokenizedText> tokens, PaddedBatch previous, int batch, int longest)
      throws OrtException {
    if (role == InputRole.HIDDEN_STATE) {
      return OnnxTensor.createTensor(env, FloatBuffer.wrap(previous.values()), new long[] {batch, longest, hiddenSize});
    }
    long[] v = new long[batch * longest];
    for (int b = 0; b < batch; b++) {
      TokenizedText t = tokens.get(b);
      int offset = b * longest;
      switch (role) {
        case TOKEN_IDS -> System.arraycopy(t.ids(), 0, v, offset, t.length());
        case TOKEN_TYPE_IDS -> System.arraycopy(t.typeIds(), 0, v, offset, t.length());
        case ATTENTION_MASK -> Arrays.fill(v, offset, offset + t.length(), 1L);
        default -> throw new IllegalStateException(role.toString());
      }
    }
    return OnnxTensor.createTensor(env, LongBuffer.wrap(v), new long[] {batch, longest});
  }

  @Override
  public void close() throws OrtException {
    session.close();
    if (exitPooling != null) {
      exitPooling.close();
    }
  }
}
