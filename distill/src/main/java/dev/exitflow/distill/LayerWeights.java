package dev.exitflow.distill;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The weights of one BERT encoder layer, read from a float ONNX export (the Hugging Face / torch
 * exporter's scopes, "/encoder/layer.N/attention/self/query/MatMul" and so on): every dense
 * layer's matrix as stored ([in, out]: the graph computes x W) and bias, and both LayerNorms'
 * scale and shift. A branch starts from these; its trained weights go back into a copy of the
 * same nodes.
 */
record LayerWeights(int layer, Map<String, Tensor> tensors) {
  /** A named weight: its shape and values, row-major. */
  record Tensor(long[] shape, float[] values) {}

  /** Parameter name -> [node holding it (under the layer's scope), which input of it is not the activation]. */
  static final Map<String, String> NODES = nodes();

  private static Map<String, String> nodes() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String[] dense : new String[][] {{"q", "attention/self/query"}, {"k", "attention/self/key"},
        {"v", "attention/self/value"}, {"o", "attention/output/dense"}, {"i", "intermediate/dense"},
        {"f", "output/dense"}}) {
      m.put(dense[0] + ".weight", dense[1] + "/MatMul");
      m.put(dense[0] + ".bias", dense[1] + "/Add");
    }
    m.put("ln1.weight", "attention/output/LayerNorm/Mul");
    m.put("ln1.bias", "attention/output/LayerNorm/Add_1");
    m.put("ln2.weight", "output/LayerNorm/Mul");
    m.put("ln2.bias", "output/LayerNorm/Add_1");
    return m;
  }

  /** Node scope of layer {@code layer} (0-based, as the exporter counts). */
  static String scope(int layer) {
    return "/encoder/layer." + layer + "/";
  }

  /** Layer {@code layer} (0-based) of the float model in {@code onnx}. */
  static LayerWeights read(Path onnx, int layer) throws IOException {
    ModelProto model;
    try (InputStream in = Files.newInputStream(onnx)) {
      model = ModelProto.parseFrom(in);
    }
    return of(model.getGraph(), layer);
  }

  static LayerWeights of(GraphProto graph, int layer) {
    Map<String, TensorProto> initializers = new HashMap<>();
    graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    Map<String, NodeProto> byName = new HashMap<>();
    graph.getNodeList().forEach(n -> byName.put(n.getName(), n));
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : NODES.entrySet()) {
      String nodeName = scope(layer) + e.getValue();
      NodeProto node = byName.get(nodeName);
      if (node == null && byName.containsKey(nodeName + QUANT)) {
        // A dynamically quantized graph (the int8 built-in): the matrix, dequantized per column.
        tensors.put(e.getKey(), Quantized.of(graph, byName, initializers, nodeName).dequantize());
        continue;
      }
      if (node == null) {
        throw new IllegalArgumentException("no node " + nodeName + ": not a float BERT export this reads");
      }
      TensorProto weight = node.getInputList().stream().map(initializers::get).filter(t -> t != null)
          .findFirst().orElseThrow(() -> new IllegalArgumentException(nodeName + " reads no initializer"));
      tensors.put(e.getKey(), new Tensor(weight.getDimsList().stream().mapToLong(Long::longValue).toArray(),
          floats(weight)));
    }
    return new LayerWeights(layer, tensors);
  }

  /** The dense layers' matrices (quantized in an int8 graph; biases and LayerNorms stay float). */
  static final java.util.Set<String> DENSE_WEIGHTS = java.util.Set.of("q.weight", "k.weight", "v.weight", "o.weight",
      "i.weight", "f.weight");

  /** Suffix of a dense layer's MatMulInteger node in a dynamically quantized graph (onnxruntime's quantizer). */
  static final String QUANT = "_quant";

  /**
   * A dense layer's matrix in a dynamically quantized graph: int8 values [in, out], a zero point and
   * a scale per output column (onnxruntime's per-channel quantize_dynamic), and the names holding them.
   */
  record Quantized(String valuesName, String scaleName, String zeroPointName, long[] shape, byte[] values,
      float[] scale, byte[] zeroPoint) {

    static Quantized of(GraphProto graph, Map<String, NodeProto> byName, Map<String, TensorProto> initializers,
        String matMul) {
      NodeProto integer = byName.get(matMul + QUANT);
      NodeProto scales = byName.get(matMul + QUANT + "_scales_mul");
      if (integer == null || scales == null || integer.getInputCount() < 4) {
        throw new IllegalArgumentException(matMul + ": not a MatMulInteger with per-column scales this reads");
      }
      TensorProto w = initializers.get(integer.getInput(1));
      TensorProto zp = initializers.get(integer.getInput(3));
      TensorProto s = scales.getInputList().stream().map(initializers::get).filter(t -> t != null).findFirst()
          .orElseThrow(() -> new IllegalArgumentException(matMul + ": no weight scale"));
      if (w == null || zp == null || w.getDataType() != TensorProto.DataType.INT8.getNumber()) {
        throw new IllegalArgumentException(matMul + ": weights are not int8 initializers");
      }
      return new Quantized(w.getName(), s.getName(), zp.getName(),
          w.getDimsList().stream().mapToLong(Long::longValue).toArray(), bytes(w), floats(s), bytes(zp));
    }

    Tensor dequantize() {
      int cols = (int) shape[1];
      float[] v = new float[values.length];
      for (int i = 0; i < v.length; i++) {
        int c = i % cols;
        int z = zeroPoint.length == 1 ? zeroPoint[0] : zeroPoint[c];
        v[i] = (values[i] - z) * (scale.length == 1 ? scale[0] : scale[c]);
      }
      return new Tensor(shape.clone(), v);
    }

    /**
     * {@code w} [in, out] quantized the way the model's own weights are: per output column,
     * symmetric (zero point 0, scale max|w| / R) when the model's zero points are all 0, else
     * asymmetric over [-128, 127]. R is the largest |value| of the model's own matrix: 64 in the
     * int8 built-in (onnxruntime's reduce_range, 7 bits, which keeps u8 x s8 products from
     * saturating on CPUs without VNNI), 127 without it.
     */
    static Quantized quantize(Quantized like, Tensor w) {
      boolean symmetric = true;
      for (byte z : like.zeroPoint) {
        symmetric &= z == 0;
      }
      int range = 0;
      for (byte v : like.values) {
        range = Math.max(range, Math.abs(v));
      }
      range = range <= 64 ? 64 : 127;
      int rows = (int) w.shape()[0];
      int cols = (int) w.shape()[1];
      float[] scale = new float[cols];
      byte[] zero = new byte[cols];
      byte[] q = new byte[rows * cols];
      for (int c = 0; c < cols; c++) {
        float min = 0;
        float max = 0;
        for (int r = 0; r < rows; r++) {
          min = Math.min(min, w.values()[r * cols + c]);
          max = Math.max(max, w.values()[r * cols + c]);
        }
        int z;
        float s;
        if (symmetric) {
          s = Math.max(Math.abs(min), Math.abs(max)) / range;
          z = 0;
        } else {
          s = (max - min) / 255f;
          z = s == 0 ? 0 : Math.round(-128 - min / s);
        }
        s = s == 0 ? 1f : s;
        scale[c] = s;
        zero[c] = (byte) z;
        int lo = symmetric ? -range : -128;
        int hi = symmetric ? range : 127;
        for (int r = 0; r < rows; r++) {
          int v = Math.round(w.values()[r * cols + c] / s) + z;
          q[r * cols + c] = (byte) Math.max(lo, Math.min(hi, v));
        }
      }
      return new Quantized(like.valuesName, like.scaleName, like.zeroPointName, w.shape().clone(), q, scale, zero);
    }
  }

  static byte[] bytes(TensorProto t) {
    if (!t.getRawData().isEmpty()) {
      return t.getRawData().toByteArray();
    }
    byte[] b = new byte[t.getInt32DataCount()];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) t.getInt32Data(i);
    }
    return b;
  }

  /** Whether layer {@code layer} of {@code graph} is dynamically quantized. */
  static boolean quantized(GraphProto graph, int layer) {
    String q = scope(layer) + NODES.get("q.weight") + QUANT;
    return graph.getNodeList().stream().anyMatch(n -> n.getName().equals(q));
  }

  /** The quantized matrix of dense parameter {@code parameter} ("q.weight", ...) in {@code graph}. */
  static Quantized quantizedWeight(GraphProto graph, int layer, String parameter) {
    Map<String, TensorProto> initializers = new HashMap<>();
    graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    Map<String, NodeProto> byName = new HashMap<>();
    graph.getNodeList().forEach(n -> byName.put(n.getName(), n));
    return Quantized.of(graph, byName, initializers, scope(layer) + NODES.get(parameter));
  }

  /** The name of the initializer holding parameter {@code parameter} in {@code graph}. */
  static String initializerName(GraphProto graph, int layer, String parameter) {
    String nodeName = scope(layer) + NODES.get(parameter);
    NodeProto node = graph.getNodeList().stream().filter(n -> n.getName().equals(nodeName)).findFirst().orElseThrow();
    return node.getInputList().stream()
        .filter(in -> graph.getInitializerList().stream().anyMatch(t -> t.getName().equals(in)))
        .findFirst().orElseThrow();
  }

  static float[] floats(TensorProto t) {
    if (t.getDataType() != TensorProto.DataType.FLOAT.getNumber()) {
      throw new IllegalArgumentException(t.getName() + " is not float (a quantized model?)");
    }
    if (!t.getRawData().isEmpty()) {
      ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      float[] v = new float[b.remaining() / 4];
      b.asFloatBuffer().get(v);
      return v;
    }
    float[] v = new float[t.getFloatDataCount()];
    for (int i = 0; i < v.length; i++) {
      v[i] = t.getFloatData(i);
    }
    return v;
  }

  int hiddenSize() {
    return (int) tensors.get("q.weight").shape()[0];
  }

  /**
   * The layer with only {@code keep} of its MLP's inner units: those whose input and output weight
   * columns have the largest product of norms (a unit's reach through both dense layers), in
   * their original order. The MLP is two thirds of a layer's multiply-adds, so a narrow one makes a
   * cheaper branch, which training then adapts.
   */
  LayerWeights narrowMlp(int keep) {
    Tensor wi = tensors.get("i.weight"); // [hidden, inner]
    Tensor bi = tensors.get("i.bias");
    Tensor wf = tensors.get("f.weight"); // [inner, hidden]
    int hidden = (int) wi.shape()[0];
    int inner = (int) wi.shape()[1];
    if (keep <= 0 || keep >= inner) {
      return this;
    }
    double[] score = new double[inner];
    for (int u = 0; u < inner; u++) {
      double in = 0;
      double out = 0;
      for (int d = 0; d < hidden; d++) {
        in += (double) wi.values()[d * inner + u] * wi.values()[d * inner + u];
        out += (double) wf.values()[u * hidden + d] * wf.values()[u * hidden + d];
      }
      score[u] = Math.sqrt(in * out);
    }
    int[] kept = java.util.stream.IntStream.range(0, inner).boxed()
        .sorted((a, b) -> Double.compare(score[b], score[a])).limit(keep).mapToInt(Integer::intValue).sorted().toArray();
    float[] nwi = new float[hidden * keep];
    float[] nbi = new float[keep];
    float[] nwf = new float[keep * hidden];
    for (int k = 0; k < keep; k++) {
      int u = kept[k];
      for (int d = 0; d < hidden; d++) {
        nwi[d * keep + k] = wi.values()[d * inner + u];
      }
      nbi[k] = bi.values()[u];
      System.arraycopy(wf.values(), u * hidden, nwf, k * hidden, hidden);
    }
    Map<String, Tensor> t = new LinkedHashMap<>(tensors);
    t.put("i.weight", new Tensor(new long[] {hidden, keep}, nwi));
    t.put("i.bias", new Tensor(new long[] {keep}, nbi));
    t.put("f.weight", new Tensor(new long[] {keep, hidden}, nwf));
    return new LayerWeights(layer, t);
  }

  /** A deep copy (trained weights are kept per epoch). */
  LayerWeights copy() {
    Map<String, Tensor> c = new LinkedHashMap<>();
    tensors.forEach((k, t) -> c.put(k, new Tensor(t.shape().clone(), Arrays.copyOf(t.values(), t.values().length))));
    return new LayerWeights(layer, c);
  }
}
