package dev.exitflow.model.runtime;

import ai.onnx.proto.OnnxMl.AttributeProto;
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
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A stage's layer features ({@link LayerFeatures}: per layer the content mean, the first and the
 * last live token's state) and its exit's adapter, computed by ONNX Runtime straight from the
 * stage's output tensors, which never come into Java. Pooling in Java meant copying every inner
 * layer's padded state out of ONNX Runtime (twice: into a heap buffer, then an array) and summing
 * it there, and the adapter was a second call on features copied back in; with this graph the
 * closed-loop exit-2 capacity rose from 1.57x to 1.74x the deep one (docs/overload.md). It is a
 * graph of its own rather than nodes appended to the stage's: the stage graph stays as compiled,
 * so hidden states (and the deep exit) stay bit for bit, and its weights are not loaded twice.
 *
 * <p>The graph takes the stage's layer states, {@code pool_weights} [batch, 3, longest] (built
 * here from the texts' lengths: the content tokens' 1/count, then one-hot rows for the first and
 * the last live token) and, after the first stage, {@code features_in} (the features so far): one
 * batched MatMul per layer pools all three vectors, and the features are [features_in | layer a |
 * ... | last layer] as {@link LayerFeatures#append} lays them out. With an adapter it then gathers
 * the features the adapter weighs (as {@link AdapterSession} does) and applies
 * {@code (x - mean) W + b}, giving the unnormalised exit embedding.
 */
final class ExitPoolingSession implements AutoCloseable {
  static final String WEIGHTS = "pool_weights";
  static final String FEATURES_IN = "features_in";
  static final String FEATURES = "features";
  static final String EMBEDDING = "embedding";

  private final OrtEnvironment env;
  private final OrtSession session;
  private final List<String> layers;
  private final boolean featuresIn;
  private final boolean adapted;
  private final Set<String> outputs;

  /**
   * {@code layers}: the stage's output tensors to pool, in layer order (the stage's own output
   * last); {@code featuresIn}: whether earlier stages' features come in; {@code adapter}: the
   * exit's adapter, or null to pool only.
   */
  ExitPoolingSession(OrtEnvironment env, List<String> layers, int hidden, boolean featuresIn, int widthIn,
      ExitAdapter adapter, OrtSession.SessionOptions options) throws OrtException {
    this.env = env;
    this.layers = List.copyOf(layers);
    this.featuresIn = featuresIn;
    this.adapted = adapter != null;
    this.outputs = adapted ? Set.of(FEATURES, EMBEDDING) : Set.of(FEATURES);
    int width = widthIn + layers.size() * LayerFeatures.PER_LAYER * hidden;
    if (adapter != null && (adapter.features() != width || adapter.hiddenSize() != hidden)) {
      throw new IllegalStateException("adapter for exit " + adapter.exitLayer() + " reads " + adapter.features()
          + " features of width " + adapter.hiddenSize() + "; the stage pools " + width + " of width " + hidden);
    }
    byte[] graph = graph(this.layers, hidden, featuresIn, widthIn, width, adapter).toByteArray();
    this.session = NativeCalls.run(() -> env.createSession(graph, options));
  }

  /** Whether it applies an adapter (then {@link Pooled#adapted} is not null). */
  boolean adapted() {
    return adapted;
  }

  /** Features per text, and the unnormalised adapted embeddings (null without adapter). */
  record Pooled(float[][] features, float[][] adapted) {}

  /**
   * Pools the batch's layer states, held by {@code stage} (the stage's result, with the layer
   * outputs fetched), for {@code tokens} padded to {@code longest}; {@code previous} are the
   * features so far (null for the first stage).
   */
  Pooled run(OrtSession.Result stage, List<TokenizedText> tokens, int longest, float[][] previous) throws OrtException {
    int batch = tokens.size();
    Map<String, OnnxTensor> inputs = new HashMap<>();
    List<OnnxTensor> own = new ArrayList<>();
    try {
      for (String layer : layers) {
        inputs.put(layer, (OnnxTensor) stage.get(layer).orElseThrow());
      }
      OnnxTensor w = OnnxTensor.createTensor(env, FloatBuffer.wrap(poolWeights(tokens, longest)),
          new long[] {batch, LayerFeatures.PER_LAYER, longest});
      own.add(w);
      inputs.put(WEIGHTS, w);
      if (featuresIn) {
        if (previous == null) {
          throw new IllegalStateException("this stage pools features but the previous stage did not");
        }
        int widthIn = previous[0].length;
        float[] flat = new float[batch * widthIn];
        for (int b = 0; b < batch; b++) {
          System.arraycopy(previous[b], 0, flat, b * widthIn, widthIn);
        }
        OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(flat), new long[] {batch, widthIn});
        own.add(in);
        inputs.put(FEATURES_IN, in);
      }
      try (OrtSession.Result r = NativeCalls.run(() -> session.run(inputs, outputs))) {
        float[][] features = rows(r, FEATURES, batch);
        return new Pooled(features, adapted ? rows(r, EMBEDDING, batch) : null);
      }
    } finally {
      own.forEach(OnnxTensor::close);
    }
  }

  private static float[][] rows(OrtSession.Result r, String name, int batch) throws OrtException {
    OnnxTensor t = (OnnxTensor) r.get(name).orElseThrow();
    FloatBuffer values = t.getFloatBuffer();
    int width = values.remaining() / batch;
    float[][] out = new float[batch][width];
    for (float[] row : out) {
      values.get(row);
    }
    return out;
  }

  /**
   * [batch, 3, longest]: per text the content tokens' weights 1/count ([CLS] and [SEP] left out
   * unless nothing else is there, as {@link LayerFeatures} pools), then 1 at the first token, then
   * 1 at the last live token.
   */
  static float[] poolWeights(List<TokenizedText> tokens, int longest) {
    float[] w = new float[tokens.size() * LayerFeatures.PER_LAYER * longest];
    for (int b = 0; b < tokens.size(); b++) {
      int length = tokens.get(b).length();
      int from = length > 2 ? 1 : 0;
      int to = length > 2 ? length - 1 : length;
      int at = b * LayerFeatures.PER_LAYER * longest;
      float share = 1f / (to - from);
      for (int t = from; t < to; t++) {
        w[at + t] = share;
      }
      w[at + longest] = 1f;
      w[at + 2 * longest + length - 1] = 1f;
    }
    return w;
  }

  private static ModelProto graph(List<String> layers, int hidden, boolean featuresIn, int widthIn, int width,
      ExitAdapter adapter) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("exit-pooling");
    g.addInput(info(WEIGHTS, dim("batch_size"), dim(LayerFeatures.PER_LAYER), dim("sequence_length")));
    List<String> pooled = new ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      String layer = layers.get(i);
      g.addInput(info(layer, dim("batch_size"), dim("sequence_length"), dim(hidden)));
      String p = "pooled_" + i;
      g.addNode(node("MatMul", "pool_" + i, p, WEIGHTS, layer)); // [batch, 3, hidden]
      pooled.add(p);
    }
    g.addNode(node("Concat", "layers", "stacked", pooled.toArray(String[]::new)).toBuilder()
        .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1)));
    g.addInitializer(longs("flat_shape", 0, -1));
    String own = featuresIn ? "own_features" : FEATURES;
    g.addNode(node("Reshape", "flatten", own, "stacked", "flat_shape")); // [batch, layers x 3 x hidden]
    if (featuresIn) {
      g.addInput(info(FEATURES_IN, dim("batch_size"), dim(widthIn)));
      g.addNode(node("Concat", "append", FEATURES, FEATURES_IN, own).toBuilder()
          .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1)));
    }
    g.addOutput(info(FEATURES, dim("batch_size"), dim(width)));
    if (adapter != null) {
      addAdapter(g, adapter);
      g.addOutput(info(EMBEDDING, dim("batch_size"), dim(hidden)));
    }
    return ModelProto.newBuilder()
        .setIrVersion(7)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
        .setGraph(g)
        .build();
  }

  /** Gathers the features with a non-zero weight, then {@code (x - mean) W + b}, as {@link AdapterSession}. */
  private static void addAdapter(GraphProto.Builder g, ExitAdapter a) {
    int hidden = a.hiddenSize();
    int[] used = usedFeatures(a);
    float[] mean = new float[used.length];
    float[] weights = new float[used.length * hidden];
    long[] indices = new long[used.length];
    for (int k = 0; k < used.length; k++) {
      indices[k] = used[k];
      mean[k] = a.inputMean()[used[k]];
      System.arraycopy(a.weights(), used[k] * hidden, weights, k * hidden, hidden);
    }
    String x = FEATURES;
    if (used.length < a.features()) {
      g.addInitializer(longs("used", indices));
      g.addNode(node("Gather", "select", "selected", FEATURES, "used").toBuilder()
          .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1)));
      x = "selected";
    }
    g.addInitializer(AdapterSession.floats("mean", mean, used.length));
    g.addInitializer(AdapterSession.floats("weights", weights, used.length, hidden));
    g.addInitializer(AdapterSession.floats("bias", a.bias(), hidden));
    g.addNode(node("Sub", "centre", "centred", x, "mean"));
    g.addNode(node("MatMul", "matmul", "product", "centred", "weights"));
    g.addNode(node("Add", "add", EMBEDDING, "product", "bias"));
  }

  /** Indices of the features whose weight row is not all zeros. */
  private static int[] usedFeatures(ExitAdapter a) {
    int hidden = a.hiddenSize();
    float[] w = a.weights();
    List<Integer> used = new ArrayList<>();
    for (int j = 0; j < a.features(); j++) {
      for (int d = 0; d < hidden; d++) {
        if (w[j * hidden + d] != 0f) {
          used.add(j);
          break;
        }
      }
    }
    return used.stream().mapToInt(Integer::intValue).toArray();
  }

  private static NodeProto node(String op, String name, String output, String... inputs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
    for (String in : inputs) {
      n.addInput(in);
    }
    return n.build();
  }

  private static TensorShapeProto.Dimension dim(String param) {
    return TensorShapeProto.Dimension.newBuilder().setDimParam(param).build();
  }

  private static TensorShapeProto.Dimension dim(long value) {
    return TensorShapeProto.Dimension.newBuilder().setDimValue(value).build();
  }

  private static ValueInfoProto info(String name, TensorShapeProto.Dimension... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (TensorShapeProto.Dimension d : dims) {
      shape.addDim(d);
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
        .build();
  }

  private static TensorProto longs(String name, long... values) {
    ByteBuffer bytes = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asLongBuffer().put(values);
    return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
        .addDims(values.length).setRawData(ByteString.copyFrom(bytes.array())).build();
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
