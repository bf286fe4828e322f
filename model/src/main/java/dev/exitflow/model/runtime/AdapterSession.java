package dev.exitflow.model.runtime;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.exitflow.model.adapter.ExitAdapter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An exit adapter run by ONNX Runtime as a tiny graph (Sub, MatMul, Add) over the whole batch.
 * The same product in plain Java ran at about 4 GFLOP/s, which cost the shallow exit half its
 * throughput; ONNX Runtime's vectorised GEMM makes it a small fraction of a stage. Features whose
 * weights are all 0 (constant in the corpus, such as the embeddings' [CLS] state, or left out by
 * calibration, see {@link LayerFeatures#meansAndSep}) are left out of the
 * product, so the graph multiplies only the features the adapter reads.
 */
final class AdapterSession implements AutoCloseable {
  private static final String IN = "features";
  private static final String OUT = "embedding";

  private final OrtEnvironment env;
  private final OrtSession session;
  private final ExitAdapter adapter;
  /** Runs of features the adapter reads: [from, to) pairs, ascending. */
  private final int[] runs;
  private final int used;

  AdapterSession(OrtEnvironment env, ExitAdapter adapter, OrtSession.SessionOptions options) throws OrtException {
    this.env = env;
    this.adapter = adapter;
    this.runs = usedRuns(adapter);
    int n = 0;
    for (int r = 0; r < runs.length; r += 2) {
      n += runs[r + 1] - runs[r];
    }
    this.used = n;
    this.session = NativeCalls.run(() -> env.createSession(graph(adapter, runs, used).toByteArray(), options));
  }

  /** Features the product reads (those with a non-zero weight). */
  int usedFeatures() {
    return used;
  }

  private static int[] usedRuns(ExitAdapter a) {
    int hidden = a.hiddenSize();
    float[] w = a.weights();
    List<Integer> runs = new ArrayList<>();
    boolean open = false;
    for (int j = 0; j < a.features(); j++) {
      boolean nonZero = false;
      for (int d = 0; d < hidden && !nonZero; d++) {
        nonZero = w[j * hidden + d] != 0f;
      }
      if (nonZero != open) {
        runs.add(j);
        open = nonZero;
      }
    }
    if (open) {
      runs.add(a.features());
    }
    return runs.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Unnormalised adapted embeddings of a batch of feature vectors. */
  float[][] apply(float[][] features) throws OrtException {
    int n = features.length;
    int width = adapter.features();
    int hidden = adapter.hiddenSize();
    float[] flat = new float[n * used];
    for (int b = 0; b < n; b++) {
      float[] x = features[b];
      if (x == null || x.length != width) {
        throw new IllegalStateException("adapter for exit " + adapter.exitLayer() + " needs " + width + " features, got "
            + (x == null ? "none (the stages were opened without feature collection)" : x.length));
      }
      int at = b * used;
      for (int r = 0; r < runs.length; r += 2) {
        System.arraycopy(x, runs[r], flat, at, runs[r + 1] - runs[r]);
        at += runs[r + 1] - runs[r];
      }
    }
    try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(flat), new long[] {n, used});
        OrtSession.Result result = NativeCalls.run(() -> session.run(Map.of(IN, in)))) {
      FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
      float[][] ys = new float[n][hidden];
      for (float[] y : ys) {
        out.get(y);
      }
      return ys;
    }
  }

  private static ModelProto graph(ExitAdapter a, int[] runs, int used) {
    int hidden = a.hiddenSize();
    float[] mean = new float[used];
    float[] weights = new float[used * hidden];
    int at = 0;
    for (int r = 0; r < runs.length; r += 2) {
      int length = runs[r + 1] - runs[r];
      System.arraycopy(a.inputMean(), runs[r], mean, at, length);
      System.arraycopy(a.weights(), runs[r] * hidden, weights, at * hidden, length * hidden);
      at += length;
    }
    GraphProto g = GraphProto.newBuilder()
        .setName("exit-" + a.exitLayer() + "-adapter")
        .addInput(info(IN, used))
        .addOutput(info(OUT, hidden))
        .addInitializer(floats("mean", mean, used))
        .addInitializer(floats("weights", weights, used, hidden))
        .addNode(NodeProto.newBuilder().setOpType("Sub").setName("centre")
            .addInput(IN).addInput("mean").addOutput("centred"))
        .addInitializer(floats("bias", a.bias(), a.hiddenSize()))
        .addNode(NodeProto.newBuilder().setOpType("MatMul").setName("matmul")
            .addInput("centred").addInput("weights").addOutput("product"))
        .addNode(NodeProto.newBuilder().setOpType("Add").setName("add")
            .addInput("product").addInput("bias").addOutput(OUT))
        .build();
    return ModelProto.newBuilder()
        .setIrVersion(7)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
        .setGraph(g)
        .build();
  }

  static TensorProto floats(String name, float[] values, long... dims) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(bytes.array()));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  private static ValueInfoProto info(String name, int width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))
        .build();
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
        .build();
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
