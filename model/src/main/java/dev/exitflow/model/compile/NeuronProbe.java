package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.exitflow.model.ModelDescriptor;
import java.util.List;

/**
 * The unmodified model with each layer's MLP intermediate state (after its activation function,
 * [batch, sequence, width]) as extra outputs, to measure which neurons carry the activation.
 */
public final class NeuronProbe {
  /** Output {@code output} holds the intermediate state of layer {@code layer} (counting from 1). */
  public record Layer(int layer, String output, int width) {}

  private final byte[] model;
  private final List<Layer> layers;

  private NeuronProbe(byte[] model, List<Layer> layers) {
    this.model = model;
    this.layers = List.copyOf(layers);
  }

  public static NeuronProbe of(ModelDescriptor descriptor) {
    ModelProto proto = StageCompiler.read(descriptor);
    OnnxGraph g = new OnnxGraph(proto.getGraph());
    int hidden = new LayerBoundaries(g, descriptor.name()).hiddenSize();
    GraphProto.Builder b = proto.getGraph().toBuilder();
    List<Layer> layers = MlpNeurons.find(g, hidden, descriptor.name()).stream()
        .map(m -> new Layer(m.layer(), m.activation(), m.width())).toList();
    for (Layer l : layers) {
      TensorShapeProto shape = TensorShapeProto.newBuilder()
          .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
          .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("sequence_length"))
          .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(l.width()))
          .build();
      b.addOutput(ValueInfoProto.newBuilder().setName(l.output()).setType(TypeProto.newBuilder().setTensorType(
          TypeProto.Tensor.newBuilder().setElemType(ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT_VALUE)
              .setShape(shape))));
    }
    return new NeuronProbe(proto.toBuilder().setGraph(b).build().toByteArray(), layers);
  }

  /** The probe as ONNX bytes, for ONNX Runtime. */
  public byte[] model() {
    return model;
  }

  public List<Layer> layers() {
    return layers;
  }
}
