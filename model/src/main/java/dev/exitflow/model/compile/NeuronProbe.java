package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.exitflow.model.ModelDescriptor;
import java.util.List;

/**
 * The unmodified model with each layer's MLP intermediate state (after its activation function,
 * [batch, sequence, width]) as extra outputs, to measure which neurons carry the activation.
 * {@code model}: the probe as ONNX bytes, for ONNX Runtime.
 */
public record NeuronProbe(byte[] model, List<Layer> layers) {
  /** Output {@code output} holds the intermediate state of layer {@code layer} (counting from 1). */
  public record Layer(int layer, String output, int width) {}

  public NeuronProbe {
    layers = List.copyOf(layers);
  }

  public static NeuronProbe of(ModelDescriptor descriptor) {
    ModelProto proto = StageCompiler.read(descriptor);
    OnnxGraph g = new OnnxGraph(proto.getGraph());
    int hidden = new LayerBoundaries(g, descriptor.name()).hiddenSize();
    List<Layer> layers = MlpNeurons.find(g, hidden, descriptor.name()).stream()
        .map(m -> new Layer(m.layer(), m.activation(), m.width())).toList();
    ProbeGraph probe = new ProbeGraph(proto);
    layers.forEach(l -> probe.expose(l.output(), l.width()));
    return new NeuronProbe(probe.bytes(), layers);
  }
}
