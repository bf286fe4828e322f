package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.exitflow.model.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The MLP of each encoder layer, found from its weights rather than node names: among the weights
 * a layer's nodes read, the one shaped [hidden, width] expands and the one shaped [width, hidden]
 * contracts (width != hidden). Every weight of the layer with a {@code width}-long axis (the first
 * dense's matrix, bias and, in a dynamically quantized graph, its per-column scales and zero
 * points; the second dense's rows) belongs to one intermediate neuron per index along that axis,
 * which is what {@link #slice} cuts.
 */
final class MlpNeurons {
  /**
   * Layer {@code layer} (counting from 1): {@code activation} is the float intermediate state the
   * second dense reads (after the activation function), [batch, sequence, width].
   */
  record Mlp(int layer, int width, String activation, List<String> neuronWeights) {}

  private MlpNeurons() {}

  static List<Mlp> find(OnnxGraph g, int hidden, String model) {
    List<Mlp> mlps = new ArrayList<>();
    for (int index = 0; index < g.layerCount(); index++) {
      Set<String> weights = new LinkedHashSet<>();
      for (int i = 0; i < g.nodeLayer.length; i++) {
        if (g.nodeLayer[i] == index) {
          g.node(i).getInputList().stream().filter(g.initializers::containsKey).forEach(weights::add);
        }
      }
      String up = null;
      String down = null;
      for (String w : weights) {
        TensorProto t = g.initializers.get(w);
        if (t.getDimsCount() == 2 && t.getDims(0) == hidden && t.getDims(1) != hidden) {
          up = unique(up, w, model, index);
        } else if (t.getDimsCount() == 2 && t.getDims(1) == hidden && t.getDims(0) != hidden) {
          down = unique(down, w, model, index);
        }
      }
      if (up == null || down == null || g.initializers.get(up).getDims(1) != g.initializers.get(down).getDims(0)) {
        throw ModelFormatException.notAnEncoder(model, "no MLP weights ([hidden, width] and [width, hidden]) in layer "
            + (index + 1));
      }
      int width = (int) g.initializers.get(down).getDims(0);
      List<String> neuronWeights = weights.stream()
          .filter(w -> g.initializers.get(w).getDimsList().contains((long) width)).toList();
      mlps.add(new Mlp(index + 1, width, activation(g, down, model), neuronWeights));
    }
    return mlps;
  }

  private static String unique(String found, String w, String model, int index) {
    if (found != null) {
      throw ModelFormatException.notAnEncoder(model, "two candidate MLP weights in layer " + (index + 1) + ": " + found
          + ", " + w);
    }
    return w;
  }

  /** The float tensor the contracting MatMul reads; in a quantized graph, what its DynamicQuantizeLinear reads. */
  private static String activation(OnnxGraph g, String down, String model) {
    NodeProto matMul = g.node(g.consumers.get(down).get(0));
    String in = matMul.getInput(0);
    Integer p = g.producerIndex.get(in);
    if (p != null && g.node(p).getOpType().equals("DynamicQuantizeLinear")) {
      in = g.node(p).getInput(0);
    }
    return in;
  }

  /** {@code t} cut to the neurons {@code keep} (indices along its {@code width}-long axis, in the order given). */
  static TensorProto slice(TensorProto t, int width, int[] keep) {
    int axis = t.getDimsList().indexOf((long) width);
    long inner = 1;
    for (int d = axis + 1; d < t.getDimsCount(); d++) {
      inner *= t.getDims(d);
    }
    long outer = 1;
    for (int d = 0; d < axis; d++) {
      outer *= t.getDims(d);
    }
    int size = switch (t.getDataType()) {
      case TensorProto.DataType.FLOAT_VALUE -> 4;
      case TensorProto.DataType.INT8_VALUE, TensorProto.DataType.UINT8_VALUE -> 1;
      default -> throw new ModelFormatException("unsupported_model",
          "cannot slice MLP weight " + t.getName() + " of ONNX data type " + t.getDataType());
    };
    byte[] src = raw(t, size);
    byte[] dst = new byte[(int) (outer * keep.length * inner * size)];
    int run = (int) inner * size;
    for (long o = 0; o < outer; o++) {
      for (int k = 0; k < keep.length; k++) {
        System.arraycopy(src, (int) ((o * width + keep[k]) * run), dst, (int) ((o * keep.length + k) * run), run);
      }
    }
    TensorProto.Builder b = t.toBuilder().clearFloatData().clearInt32Data().setRawData(ByteString.copyFrom(dst));
    b.setDims(axis, keep.length);
    return b.build();
  }

  /** The tensor's elements as little-endian bytes, wherever the exporter put them. */
  private static byte[] raw(TensorProto t, int size) {
    if (!t.getRawData().isEmpty()) {
      return t.getRawData().toByteArray();
    }
    if (size == 4) {
      ByteBuffer b = ByteBuffer.allocate(t.getFloatDataCount() * 4).order(ByteOrder.LITTLE_ENDIAN);
      t.getFloatDataList().forEach(b::putFloat);
      return b.array();
    }
    byte[] b = new byte[t.getInt32DataCount()];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (int) t.getInt32Data(i);
    }
    return b;
  }
}
