package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Cuts a BERT-family ONNX export into stages at its exit layers. Each stage is extracted backwards
 * from its output tensor, stopping at its boundary: the previous stage's output, the graph inputs
 * and the weights. Later stages therefore recompute what they need from the inputs themselves
 * (the additive attention mask, for instance), and chaining all stages computes exactly what the
 * unmodified graph computes.
 */
public final class StageCompiler {
  static final String HIDDEN_IN = "hidden_state_in";
  static final String HIDDEN_OUT = "hidden_state";
  static final String LAYER_OUT = "layer_state_";
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

  private StageCompiler() {}

  /** Writes stage-N.onnx files into {@code outDir} and returns their description. */
  public static CompiledModel compile(ModelDescriptor model, Path outDir) {
    ModelProto proto = read(model);
    OnnxGraph g = new OnnxGraph(proto.getGraph());
    for (TensorProto t : proto.getGraph().getInitializerList()) {
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
        throw new ModelFormatException(
            "unsupported_model", "model '" + model.name() + "' keeps weights in external data files, not supported yet");
      }
    }
    int layers = g.layerCount();
    if (layers < 1) {
      throw ModelFormatException.notAnEncoder(model.name(), "no node is scoped to an encoder layer ('layer.N')");
    }
    if (model.deepLayer() != layers) {
      throw new ModelFormatException(
          "bad_descriptor",
          "model '" + model.name() + "' has " + layers + " layers but its last exit is " + model.deepLayer());
    }
    LayerBoundaries boundaries = new LayerBoundaries(g, model.name());
    int hidden = boundaries.hiddenSize();

    List<StageSpec> stages = new ArrayList<>();
    String previousCut = null;
    int firstLayer = 1;
    try {
      Files.createDirectories(outDir);
      for (int exit : model.exitLayers()) {
        String cut = boundaries.outputOf(exit);
        int index = stages.size() + 1;
        String file = "stage-" + index + ".onnx";
        Map<String, StageSpec.LayerOutput> layerOutputs = new LinkedHashMap<>();
        for (int layer = firstLayer - 1; layer < exit; layer++) {
          if (layer == 0 || layer >= firstLayer) { // the stage's own input state is the previous stage's
            String tensor = layer == 0 ? boundaries.embeddingsOutput() : boundaries.outputOf(layer);
            layerOutputs.put(tensor, new StageSpec.LayerOutput(layer, LAYER_OUT + layer));
          }
        }
        Extracted stage = extract(g, cut, previousCut, hidden, model.name() + "-stage" + index, layerOutputs);
        Files.write(outDir.resolve(file), proto.toBuilder().setGraph(stage.graph).build().toByteArray());
        stages.add(new StageSpec(
            index, firstLayer, exit, file, stage.inputs, HIDDEN_OUT, List.copyOf(layerOutputs.values())));
        previousCut = cut;
        firstLayer = exit + 1;
      }
    } catch (IOException e) {
      throw new ModelFormatException("compile_failed", "cannot write compiled stages to " + outDir, e);
    }
    return new CompiledModel(model.name(), layers, hidden, stages, outDir);
  }

  private record Extracted(GraphProto graph, List<StageSpec.Input> inputs) {}

  private static Extracted extract(OnnxGraph g, String output, String boundary, int hidden, String name,
      Map<String, StageSpec.LayerOutput> layerOutputs) {
    // Walk back from the output; TreeSet keeps the original (topological) node order.
    TreeSet<Integer> nodes = new TreeSet<>();
    Set<String> weights = new LinkedHashSet<>();
    Set<String> graphInputs = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(output));
    Set<String> seen = new HashSet<>();
    while (!todo.isEmpty()) {
      String t = todo.pop();
      if (t.isEmpty() || !seen.add(t) || t.equals(boundary)) {
        continue;
      }
      if (g.initializers.containsKey(t)) {
        weights.add(t);
      } else if (g.inputs.containsKey(t)) {
        graphInputs.add(t);
      } else {
        Integer p = g.producerIndex.get(t);
        if (p == null) {
          throw ModelFormatException.notAnEncoder(name, "tensor '" + t + "' has no producer");
        }
        if (nodes.add(p)) {
          g.node(p).getInputList().forEach(todo::push);
        }
      }
    }

    GraphProto.Builder b = GraphProto.newBuilder().setName(name);
    List<StageSpec.Input> inputs = new ArrayList<>();
    if (boundary != null) {
      b.addInput(hiddenStateInfo(HIDDEN_IN, hidden));
      inputs.add(new StageSpec.Input(HIDDEN_IN, InputRole.HIDDEN_STATE));
    }
    for (var in : g.inputs.values()) {
      if (graphInputs.contains(in.getName())) {
        InputRole role = InputRole.ofGraphInput(in.getName());
        if (role == null) {
          throw ModelFormatException.notAnEncoder(name, "input '" + in.getName() + "' is not ids, mask or type ids");
        }
        b.addInput(in);
        inputs.add(new StageSpec.Input(in.getName(), role));
      }
    }
    Map<String, String> renames = new HashMap<>();
    if (boundary != null) {
      renames.put(boundary, HIDDEN_IN);
    }
    renames.put(output, HIDDEN_OUT);
    layerOutputs.forEach((tensor, out) -> renames.put(tensor, out.name()));
    for (int i : nodes) {
      b.addNode(rename(g.node(i), renames));
    }
    for (String w : weights) {
      b.addInitializer(g.initializers.get(w));
    }
    for (int i : nodes) {
      for (String t : g.node(i).getOutputList()) {
        ValueInfoProto info = g.valueInfo.get(t);
        if (info != null && !renames.containsKey(t) && !g.outputs.contains(t)) {
          b.addValueInfo(info);
        }
      }
    }
    b.addOutput(hiddenStateInfo(HIDDEN_OUT, hidden));
    for (var tensor : layerOutputs.keySet()) {
      if (!seen.contains(tensor)) {
        throw ModelFormatException.notAnEncoder(name, "layer output '" + tensor + "' is not computed by the stage");
      }
      b.addOutput(hiddenStateInfo(layerOutputs.get(tensor).name(), hidden));
    }
    return new Extracted(b.build(), inputs);
  }

  /** Gives the stage's boundary and layer-output tensors their stable names. */
  private static NodeProto rename(NodeProto n, Map<String, String> renames) {
    NodeProto.Builder b = n.toBuilder();
    for (int i = 0; i < b.getInputCount(); i++) {
      String to = renames.get(b.getInput(i));
      if (to != null) {
        b.setInput(i, to);
      }
    }
    for (int i = 0; i < b.getOutputCount(); i++) {
      String to = renames.get(b.getOutput(i));
      if (to != null) {
        b.setOutput(i, to);
      }
    }
    return b.build();
  }

  private static ValueInfoProto hiddenStateInfo(String name, int hidden) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("sequence_length"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(hidden))
        .build();
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(shape)))
        .build();
  }

  private static ModelProto read(ModelDescriptor model) {
    try (InputStream in = Files.newInputStream(model.onnxFile())) {
      ModelProto proto = ModelProto.parseFrom(in);
      if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
        throw ModelFormatException.notAnEncoder(model.name(), model.onnxFile() + " holds no graph");
      }
      return proto;
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new ModelFormatException(
          "not_onnx", model.onnxFile() + " is not an ONNX model: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new ModelFormatException("missing_model_file", "cannot read " + model.onnxFile(), e);
    }
  }
}
