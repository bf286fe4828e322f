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
import java.util.List;
import java.util.Map;

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

  public StageSession(OrtEnvironment env, OrtSession session, StageSpec spec, int hiddenSize) {
    this.env = env;
    this.spec = spec;
    this.hiddenSize = hiddenSize;
    this.session = session;
  }

  public StageSpec spec() {
    return spec;
  }

  /** Runs stage 1 on a batch of texts. */
  public PaddedBatch run(List<TokenizedText> tokens) throws OrtException {
    return run(tokens, null);
  }

  /**
   * Runs the stage on a batch. {@code previous} is the previous stage's output for exactly these
   * texts (null for stage 1).
   */
  public PaddedBatch run(List<TokenizedText> tokens, PaddedBatch previous) throws OrtException {
    int batch = tokens.size();
    int longest = previous != null ? previous.longest()
        : tokens.stream().mapToInt(TokenizedText::length).max().orElse(0);
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      for (StageSpec.Input in : spec.inputs()) {
        inputs.put(in.name(), tensor(in.role(), tokens, previous, batch, longest));
      }
      try (OrtSession.Result result = session.run(inputs)) {
        FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
        float[] values = new float[batch * longest * hiddenSize];
        out.get(values);
        return new PaddedBatch(tokens, values, longest, hiddenSize);
      }
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
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
  }
}
