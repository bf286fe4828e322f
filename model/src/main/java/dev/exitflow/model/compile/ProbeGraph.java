package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import java.util.HashSet;
import java.util.Set;

/**
 * The unmodified model with inner tensors added to its outputs, so that ONNX Runtime returns them
 * beside the model's own: what {@link BlockProbe} and {@link NeuronProbe} read. Nothing else of
 * the graph changes.
 */
final class ProbeGraph {
  private final ModelProto proto;
  private final GraphProto.Builder graph;
  private final Set<String> outputs = new HashSet<>();

  ProbeGraph(ModelProto proto) {
    this.proto = proto;
    this.graph = proto.getGraph().toBuilder();
    proto.getGraph().getOutputList().forEach(o -> outputs.add(o.getName()));
  }

  /** Makes {@code tensor}, a float state [batch, sequence, width], an output (once). */
  void expose(String tensor, int width) {
    if (outputs.add(tensor)) {
      graph.addOutput(StageCompiler.hiddenStateInfo(tensor, width));
    }
  }

  /** The model with its added outputs, as ONNX bytes for ONNX Runtime. */
  byte[] bytes() {
    return proto.toBuilder().setGraph(graph).build().toByteArray();
  }
}
