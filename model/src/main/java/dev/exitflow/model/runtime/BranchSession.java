package dev.exitflow.model.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.compile.AdapterKey;
import dev.exitflow.model.compile.CompiledModel;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A distilled exit branch (trained by {@code ./exitflow distill}): one encoder layer, the model's
 * next layer with trained weights, run by ONNX Runtime on an exit's token states, then mean pooled
 * over the live tokens. It reads the stage's output and never replaces it, so requests that
 * continue past the exit, and the deep exit, compute exactly what they computed before. Branches
 * live in {@code branches-<key>/exit-N.onnx} beside the adapters in the compiled model's cache
 * directory (the same keys: model bytes, exits, drops; pooling, tokenizer, length, precision).
 */
public final class BranchSession implements AutoCloseable {
  public static final String DIRECTORY = "branches";
  private static final String IN = "hidden_state_in";
  private static final String OUT = "hidden_state";
  private final OrtEnvironment env;
  private final OrtSession session;
  private final int hiddenSize;
  private final int exitLayer;
  /** The graph's attention-mask input (the exporter's name for it). */
  private final String mask;
  /** Mean cosine of its embeddings to the deep ones on sts-dev, as distill measured it; NaN if not recorded. */
  private final double fidelity;

  public BranchSession(OrtEnvironment env, Path file, int exitLayer, int hiddenSize, OrtSession.SessionOptions options)
      throws OrtException {
    this.env = env;
    this.exitLayer = exitLayer;
    this.hiddenSize = hiddenSize;
    this.session = NativeCalls.run(() -> env.createSession(file.toString(), options));
    this.mask = session.getInputNames().stream().filter(n -> !n.equals(IN)).findFirst()
        .orElseThrow(() -> new IllegalStateException(file + " takes no attention mask"));
    this.fidelity = recordedFidelity(file);
  }

  /** The {@code fidelity} distill wrote in the branch's {@code exit-N.json}, or NaN (an older branch, no record). */
  private static double recordedFidelity(Path graph) {
    Path record = graph.resolveSibling(graph.getFileName().toString().replace(".onnx", ".json"));
    try {
      com.fasterxml.jackson.databind.JsonNode fit = new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(record.toFile()).path("fidelity");
      return fit.isNumber() ? fit.asDouble() : Double.NaN;
    } catch (java.io.IOException e) {
      return Double.NaN;
    }
  }

  /**
   * The held-out mean cosine between this branch's embeddings and the deep ones (what an adapter's
   * fidelity is), for {@code min_fidelity} floors; NaN when distill recorded none.
   */
  public double fidelity() {
    return fidelity;
  }

  /** Where the branches of a compiled model live. */
  public static Path directory(CompiledModel compiled) {
    AdapterKey key = compiled.adapterKey();
    return compiled.directory().resolve(key == null ? DIRECTORY : DIRECTORY + "-" + key.hash());
  }

  /** The branch graph of exit {@code exitLayer}, whether or not it exists. */
  public static Path file(CompiledModel compiled, int exitLayer) {
    return directory(compiled).resolve("exit-" + exitLayer + ".onnx");
  }

  /** The saved branch of an exit, or null when distill trained none. */
  public static Path saved(CompiledModel compiled, int exitLayer) {
    Path f = file(compiled, exitLayer);
    return Files.isRegularFile(f) ? f : null;
  }

  public int exitLayer() {
    return exitLayer;
  }

  /** The mean-pooled branch outputs of a batch of exit states (not normalised). */
  public float[][] apply(List<HiddenState> states) throws OrtException {
    int batch = states.size();
    int longest = states.stream().mapToInt(HiddenState::length).max().orElse(0);
    float[] x = new float[batch * longest * hiddenSize];
    long[] live = new long[batch * longest];
    for (int b = 0; b < batch; b++) {
      HiddenState s = states.get(b);
      System.arraycopy(s.values(), 0, x, b * longest * hiddenSize, s.values().length);
      Arrays.fill(live, b * longest, b * longest + s.length(), 1L);
    }
    try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {batch, longest, hiddenSize});
        OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(live), new long[] {batch, longest});
        OrtSession.Result r = NativeCalls.run(() -> session.run(Map.of(IN, in, mask, m), Set.of(OUT)))) {
      FloatBuffer out = ((OnnxTensor) r.get(OUT).orElseThrow()).getFloatBuffer();
      float[][] pooled = new float[batch][hiddenSize];
      for (int b = 0; b < batch; b++) {
        int len = states.get(b).length();
        float[] p = pooled[b];
        for (int t = 0; t < len; t++) {
          int row = (b * longest + t) * hiddenSize;
          for (int d = 0; d < hiddenSize; d++) {
            p[d] += out.get(row + d);
          }
        }
        for (int d = 0; d < hiddenSize; d++) {
          p[d] /= len;
        }
      }
      return pooled;
    }
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
