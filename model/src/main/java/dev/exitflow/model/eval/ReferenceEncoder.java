package dev.exitflow.model.eval;

import dev.exitflow.model.runtime.NativeCalls;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.runtime.ExecutionProviders;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.runtime.OrtSessions;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The yardstick: one plain ONNX Runtime session on the unmodified model file, fed padded batches,
 * with the same tokenizer, session options and pooling as the engine. The equivalence tests and
 * {@code exitflow bench} compare the engine's deep exit against it.
 */
public final class ReferenceEncoder implements AutoCloseable {
  private final OrtEnvironment env;
  private final OrtSession session;
  private final TextTokenizer tokenizer;
  private final ExitHead head;
  private final int hiddenSize;

  public ReferenceEncoder(ModelDescriptor model, ModelSettings settings, int hiddenSize) throws OrtException {
    this.env = OrtSessions.environment(settings);
    this.session = ExecutionProviders.open(env, model.onnxFile(), settings.providers(),
        () -> OrtSessions.standaloneOptions(settings));
    this.tokenizer = new TextTokenizer(model);
    this.hiddenSize = hiddenSize;
    this.head = new ExitHead(model.pooling(), hiddenSize);
  }

  /** Embeds one batch as it is (no re-batching): pooled, L2-normalised, full size. */
  public List<float[]> embedBatch(List<String> texts) throws OrtException {
    List<TokenizedText> tokens = tokenizer.tokenize(texts);
    int batch = tokens.size();
    int longest = tokens.stream().mapToInt(TokenizedText::length).max().orElse(0);
    long[] ids = new long[batch * longest];
    long[] mask = new long[batch * longest];
    long[] types = new long[batch * longest];
    for (int b = 0; b < batch; b++) {
      TokenizedText t = tokens.get(b);
      System.arraycopy(t.ids(), 0, ids, b * longest, t.length());
      System.arraycopy(t.typeIds(), 0, types, b * longest, t.length());
      java.util.Arrays.fill(mask, b * longest, b * longest + t.length(), 1L);
    }
    long[] shape = {batch, longest};
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      for (String name : session.getInputNames()) {
        long[] data = name.contains("mask") ? mask : name.contains("type") ? types : ids;
        inputs.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape));
      }
      try (OrtSession.Result result = NativeCalls.run(() -> session.run(inputs))) {
        FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
        List<float[]> vectors = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
          int len = tokens.get(b).length();
          float[] values = new float[len * hiddenSize];
          out.get(b * longest * hiddenSize, values);
          vectors.add(head.apply(new HiddenState(values, len, hiddenSize), null));
        }
        return vectors;
      }
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  @Override
  public void close() throws OrtException {
    session.close();
    tokenizer.close();
  }
}
