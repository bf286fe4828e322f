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
 *
 * <p>Dropped blocks ({@link Drop}) are left out by rewiring: BERT is post-LayerNorm, so a block
 * maps its input {@code x} to {@code LayerNorm(x + f(x))}, and dropping it makes whatever read
 * that result read {@code x} instead. The block's nodes are then no longer reachable from the
 * stage's output and are not extracted. Without drops the stages are exactly the ones above.
 */
public final class StageCompiler {
  static final String HIDDEN_IN = "hidden_state_in";
  static final String HIDDEN_OUT = "hidden_state";
  static final String LAYER_OUT = "layer_state_";
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;

  private StageCompiler() {}

  /** Writes stage-N.onnx files into {@code outDir} and returns their description. */
  public static CompiledModel compile(ModelDescriptor model, Path outDir) {
    return compile(model, List.of(), outDir);
  }

  /** Like {@link #compile(ModelDescriptor, Path)}, leaving {@code drops} out of the stages. */
  public static CompiledModel compile(ModelDescriptor model, List<Drop> drops, Path outDir) {
    return compile(model, drops, MlpSlices.NONE, outDir);
  }

  /** Like {@link #compile(ModelDescriptor, List, Path)}, with the MLPs cut to the neurons {@code slices} keeps. */
  public static CompiledModel compile(ModelDescriptor model, List<Drop> drops, MlpSlices slices, Path outDir) {
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
    if (Boolean.TRUE.equals(model.tokenTypeIds())
        && g.inputs.keySet().stream().noneMatch(n -> InputRole.ofGraphInput(n) == InputRole.TOKEN_TYPE_IDS)) {
      throw new ModelFormatException("bad_descriptor", "model '" + model.name() + "' says \"token_type_ids\": true "
          + "but its graph takes no token type ids (inputs " + g.inputs.keySet() + "); set it to false or leave it out");
    }
    LayerBoundaries boundaries = new LayerBoundaries(g, model.name());
    int hidden = boundaries.hiddenSize();
    if (!slices.isEmpty()) {
      sliceMlps(g, hidden, slices, model.name());
    }
    Map<String, String> bypass = new HashMap<>(); // a dropped block's output -> its input
    for (Drop d : drops) {
      if (d.layer() > layers) {
        throw new ModelFormatException("bad_plan", "cannot drop from layer " + d.layer() + " of " + layers);
      }
      String in = d.layer() == 1 ? boundaries.embeddingsOutput() : boundaries.outputOf(d.layer() - 1);
      String mid = boundaries.attentionOutputOf(d.layer());
      if (d.dropsAttention()) {
        bypass.put(mid, in);
      }
      if (d.dropsMlp()) {
        bypass.put(boundaries.outputOf(d.layer()), mid);
      }
    }

    List<StageSpec> stages = new ArrayList<>();
    String previousCut = null;
    int firstLayer = 1;
    try {
      Files.createDirectories(outDir);
      for (int exit : model.exitLayers()) {
        String cut = resolve(bypass, boundaries.outputOf(exit));
        int index = stages.size() + 1;
        String file = "stage-" + index + ".onnx";
        if (cut.equals(previousCut)) {
          throw new ModelFormatException("bad_plan",
              "stage " + index + " (layers " + firstLayer + ".." + exit + ") would drop every block it has");
        }
        List<Map.Entry<String, StageSpec.LayerOutput>> layerOutputs = new ArrayList<>();
        for (int layer = firstLayer - 1; layer < exit; layer++) {
          if (layer == 0 || layer >= firstLayer) { // the stage's own input state is the previous stage's
            String tensor = layer == 0 ? boundaries.embeddingsOutput() : resolve(bypass, boundaries.outputOf(layer));
            layerOutputs.add(Map.entry(tensor, new StageSpec.LayerOutput(layer, LAYER_OUT + layer)));
          }
        }
        Extracted stage =
            extract(g, bypass, cut, previousCut, hidden, model.name() + "-stage" + index, layerOutputs);
        Files.write(outDir.resolve(file), proto.toBuilder().setGraph(stage.graph).build().toByteArray());
        stages.add(new StageSpec(index, firstLayer, exit, file, stage.inputs, HIDDEN_OUT,
            layerOutputs.stream().map(Map.Entry::getValue).toList()));
        previousCut = cut;
        firstLayer = exit + 1;
      }
    } catch (IOException e) {
      throw new ModelFormatException("compile_failed", "cannot write compiled stages to " + outDir, e);
    }
    return new CompiledModel(model.name(), layers, hidden, stages, outDir);
  }

  /**
   * Replaces, in {@code g}'s weights, each sliced layer's MLP weights with their kept neurons, and
   * forgets the recorded shapes of its intermediate tensors, which no longer hold.
   */
  private static void sliceMlps(OnnxGraph g, int hidden, MlpSlices slices, String model) {
    for (MlpNeurons.Mlp mlp : MlpNeurons.find(g, hidden, model)) {
      int[] keep = slices.kept().get(mlp.layer());
      if (keep == null) {
        continue;
      }
      for (int k : keep) {
        if (k < 0 || k >= mlp.width()) {
          throw new ModelFormatException("bad_plan", "layer " + mlp.layer() + " has no MLP neuron " + k);
        }
      }
      for (String w : mlp.neuronWeights()) {
        g.initializers.put(w, MlpNeurons.slice(g.initializers.get(w), mlp.width(), keep));
      }
      g.valueInfo.values().removeIf(v -> v.getType().getTensorType().getShape().getDimList().stream()
          .anyMatch(d -> d.getDimValue() == mlp.width()));
    }
  }

  private record Extracted(GraphProto graph, List<StageSpec.Input> inputs) {}

  /** The tensor that stands for {@code tensor} once the blocks in {@code bypass} are dropped. */
  private static String resolve(Map<String, String> bypass, String tensor) {
    String t = tensor;
    while (bypass.containsKey(t)) {
      t = bypass.get(t);
    }
    return t;
  }

  private static Extracted extract(OnnxGraph g, Map<String, String> bypass, String output, String boundary, int hidden,
      String name, List<Map.Entry<String, StageSpec.LayerOutput>> layerOutputs) {
    // Walk back from the output; TreeSet keeps the original (topological) node order.
    TreeSet<Integer> nodes = new TreeSet<>();
    Set<String> weights = new LinkedHashSet<>();
    Set<String> graphInputs = new HashSet<>();
    Deque<String> toVisit = new ArrayDeque<>(List.of(output));
    Set<String> seen = new HashSet<>();
    while (!toVisit.isEmpty()) {
      String t = toVisit.pop();
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
          g.node(p).getInputList().forEach(in -> toVisit.push(resolve(bypass, in)));
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
    // A layer output that stands for a tensor already named (a dropped layer's output is its
    // input) is a copy of it.
    List<NodeProto> copies = new ArrayList<>();
    for (var e : layerOutputs) {
      String named = renames.putIfAbsent(e.getKey(), e.getValue().name());
      if (named != null) {
        copies.add(NodeProto.newBuilder().setOpType("Identity").setName(e.getValue().name() + "_copy")
            .addInput(named).addOutput(e.getValue().name()).build());
      }
    }
    for (int i : nodes) {
      b.addNode(rename(g.node(i), bypass, renames));
    }
    copies.forEach(b::addNode);
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
    for (var e : layerOutputs) {
      if (!seen.contains(e.getKey())) {
        throw ModelFormatException.notAnEncoder(name, "layer output '" + e.getKey() + "' is not computed by the stage");
      }
      b.addOutput(hiddenStateInfo(e.getValue().name(), hidden));
    }
    return new Extracted(b.build(), inputs);
  }

  /** Rewires reads of dropped blocks and gives the stage's boundary and layer-output tensors their stable names. */
  private static NodeProto rename(NodeProto n, Map<String, String> bypass, Map<String, String> renames) {
    NodeProto.Builder b = n.toBuilder();
    for (int i = 0; i < b.getInputCount(); i++) {
      String in = resolve(bypass, b.getInput(i));
      if (!in.equals(b.getInput(i))) {
        b.setInput(i, in);
      }
      String to = renames.get(in);
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

  /** A float state [batch_size, sequence_length, width]: a hidden state, or an MLP's intermediate one. */
  static ValueInfoProto hiddenStateInfo(String name, int width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("sequence_length"))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))
        .build();
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(TypeProto.newBuilder().setTensorType(
            TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(shape)))
        .build();
  }

  static ModelProto read(ModelDescriptor model) {
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
