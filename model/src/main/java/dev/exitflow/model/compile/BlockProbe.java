package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.exitflow.model.ModelDescriptor;
import java.util.ArrayList;
import java.util.List;

/**
 * The unmodified model with the states around every block as extra outputs: each layer's input,
 * its attention block's output (the MLP block's input) and its output, all [batch, sequence,
 * hidden]. Calibration runs it to see how much each block changes its input. {@code model}: the
 * probe as ONNX bytes, for ONNX Runtime.
 */
public record BlockProbe(byte[] model, List<Layer> layers) {
  /** Output names of layer {@code layer} (counting from 1): its input, attention output and output. */
  public record Layer(int layer, String input, String attention, String output) {}

  public BlockProbe {
    layers = List.copyOf(layers);
  }

  public static BlockProbe of(ModelDescriptor descriptor) {
    ModelProto proto = StageCompiler.read(descriptor);
    OnnxGraph g = new OnnxGraph(proto.getGraph());
    LayerBoundaries boundaries = new LayerBoundaries(g, descriptor.name());
    ProbeGraph probe = new ProbeGraph(proto);
    List<Layer> layers = new ArrayList<>();
    for (int layer = 1; layer <= g.layerCount(); layer++) {
      String in = layer == 1 ? boundaries.embeddingsOutput() : boundaries.outputOf(layer - 1);
      Layer l = new Layer(layer, in, boundaries.attentionOutputOf(layer), boundaries.outputOf(layer));
      for (String t : List.of(l.input(), l.attention(), l.output())) {
        probe.expose(t, boundaries.hiddenSize());
      }
      layers.add(l);
    }
    return new BlockProbe(probe.bytes(), layers);
  }
}
