package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Index over an ONNX graph: who produces and who consumes each tensor, which tensors are weights
 * and which are real inputs, and which encoder layer each node belongs to (from its scope name).
 */
final class OnnxGraph {
  /** Scope names of exporters: "/encoder/layer.3/...", "encoder.layer.3.", "/layers.3/", "layer_3". */
  private static final Pattern LAYER_SCOPE = Pattern.compile("(?:^|[/._])layers?[._/](\\d+)(?=[/._]|$)");
  static final int NO_LAYER = -1;

  final GraphProto graph;
  final Map<String, Integer> producerIndex = new HashMap<>();
  final Map<String, List<Integer>> consumers = new HashMap<>();
  final Map<String, TensorProto> initializers = new HashMap<>();
  final Map<String, ValueInfoProto> inputs = new LinkedHashMap<>();
  final Map<String, ValueInfoProto> valueInfo = new HashMap<>();
  final Set<String> outputs = new HashSet<>();
  final int[] nodeLayer;

  OnnxGraph(GraphProto graph) {
    this.graph = graph;
    graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    for (ValueInfoProto in : graph.getInputList()) {
      if (!initializers.containsKey(in.getName())) { // old exporters list weights as inputs too
        inputs.put(in.getName(), in);
      }
    }
    graph.getValueInfoList().forEach(v -> valueInfo.put(v.getName(), v));
    graph.getOutputList().forEach(v -> {
      valueInfo.putIfAbsent(v.getName(), v);
      outputs.add(v.getName());
    });
    nodeLayer = new int[graph.getNodeCount()];
    for (int i = 0; i < graph.getNodeCount(); i++) {
      NodeProto n = graph.getNode(i);
      for (String out : n.getOutputList()) {
        producerIndex.put(out, i);
      }
      for (String in : n.getInputList()) {
        if (!in.isEmpty()) {
          consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
        }
      }
      nodeLayer[i] = layerOf(n);
    }
  }

  NodeProto node(int i) {
    return graph.getNode(i);
  }

  /** The encoder layer a node belongs to, from its name or else its first output's name. */
  private static int layerOf(NodeProto n) {
    int fromName = layerIn(n.getName());
    return fromName != NO_LAYER || n.getOutputCount() == 0 ? fromName : layerIn(n.getOutput(0));
  }

  static int layerIn(String name) {
    Matcher m = LAYER_SCOPE.matcher(name);
    int layer = NO_LAYER;
    while (m.find()) {
      layer = Integer.parseInt(m.group(1)); // innermost scope wins
    }
    return layer;
  }

  int layerCount() {
    int max = NO_LAYER;
    for (int l : nodeLayer) {
      max = Math.max(max, l);
    }
    return max + 1;
  }

  /** True when {@code ancestor} is {@code tensor} or among the tensors it is computed from. */
  boolean dependsOn(String tensor, String ancestor) {
    Deque<String> toVisit = new ArrayDeque<>(List.of(tensor));
    Set<String> seen = new HashSet<>();
    while (!toVisit.isEmpty()) {
      String t = toVisit.pop();
      if (t.equals(ancestor)) {
        return true;
      }
      Integer p = producerIndex.get(t);
      if (p != null && seen.add(t)) {
        for (String in : node(p).getInputList()) {
          if (!in.isEmpty()) {
            toVisit.push(in);
          }
        }
      }
    }
    return false;
  }
}
