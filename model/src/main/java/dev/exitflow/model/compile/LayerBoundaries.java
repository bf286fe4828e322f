package dev.exitflow.model.compile;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.exitflow.model.ModelFormatException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Finds, in an encoder graph, the tensor that carries the output of each layer. It is found from
 * structure, not node numbers: among the tensors a layer's nodes produce and something outside the
 * layer reads (or the graph returns), it is the one every other such tensor is computed from. In
 * a quantized graph, for example, the next layer also reads the quantized copy, its scale and its
 * zero point, all derived from that tensor.
 */
final class LayerBoundaries {
  /** Scope of the attention block in BERT-family exports: "/attention/", ".attention.". */
  private static final Pattern ATTENTION_SCOPE = Pattern.compile("(?:^|[/._])attention(?=[/._]|$)");
  private final OnnxGraph g;
  private final String model;
  private final String tokenIdsInput;

  LayerBoundaries(OnnxGraph g, String model) {
    this.g = g;
    this.model = model;
    this.tokenIdsInput = g.inputs.keySet().stream()
        .filter(n -> InputRole.ofGraphInput(n) == InputRole.TOKEN_IDS)
        .findFirst()
        .orElseThrow(() -> ModelFormatException.notAnEncoder(model, "no token-ids input among " + g.inputs.keySet()));
  }

  /** The output tensor of layer {@code layer}, counting from 1. */
  String outputOf(int layer) {
    int index = layer - 1;
    Set<String> candidates = new LinkedHashSet<>();
    for (int i = 0; i < g.nodeLayer.length; i++) {
      if (g.nodeLayer[i] != index) {
        continue;
      }
      for (String t : g.node(i).getOutputList()) {
        if (leavesLayer(t, index) && g.dependsOn(t, tokenIdsInput)) {
          candidates.add(t);
        }
      }
    }
    return dominating(candidates, "the output of layer " + layer);
  }

  /**
   * The output of layer {@code layer}'s attention block (counting from 1), after its residual add
   * and LayerNorm, which the MLP block reads: of the tensors that nodes in the layer's
   * {@code attention} scope compute from the layer's input and that something outside that scope
   * reads, the one all the others are computed from.
   */
  String attentionOutputOf(int layer) {
    int index = layer - 1;
    String input = layer == 1 ? embeddingsOutput() : outputOf(layer - 1);
    Set<String> candidates = new LinkedHashSet<>();
    for (int i = 0; i < g.nodeLayer.length; i++) {
      if (g.nodeLayer[i] != index || !inAttention(g.node(i))) {
        continue;
      }
      for (String t : g.node(i).getOutputList()) {
        boolean readOutside = g.consumers.getOrDefault(t, List.of()).stream()
            .anyMatch(c -> !inAttention(g.node(c)));
        if (readOutside && !t.equals(input) && g.dependsOn(t, input)) {
          candidates.add(t);
        }
      }
    }
    return dominating(candidates, "the attention output of layer " + layer);
  }

  private static boolean inAttention(NodeProto n) {
    return ATTENTION_SCOPE.matcher(n.getName()).find();
  }

  /**
   * The embeddings' output, which the first layer reads: of the tensors produced outside any layer
   * that layer 1 reads and that are computed from the token embedding table, the one all the
   * others are computed from.
   */
  String embeddingsOutput() {
    String table = tokenEmbeddingGather();
    Set<String> candidates = new LinkedHashSet<>();
    for (int i = 0; i < g.nodeLayer.length; i++) {
      if (g.nodeLayer[i] != 0) {
        continue;
      }
      for (String t : g.node(i).getInputList()) {
        Integer p = g.producerIndex.get(t);
        if (p != null && g.nodeLayer[p] == OnnxGraph.NO_LAYER && g.dependsOn(t, table)) {
          candidates.add(t);
        }
      }
    }
    return dominating(candidates, "the embeddings' output");
  }

  /** The one candidate every other candidate is computed from; anything else is not an encoder we understand. */
  private String dominating(Set<String> candidates, String what) {
    List<String> dominating = new ArrayList<>();
    for (String c : candidates) {
      if (candidates.stream().allMatch(other -> g.dependsOn(other, c))) {
        dominating.add(c);
      }
    }
    if (dominating.size() != 1) {
      throw ModelFormatException.notAnEncoder(model, "cannot tell which tensor is " + what + " (candidates " + candidates + ")");
    }
    return dominating.get(0);
  }

  private boolean leavesLayer(String tensor, int layer) {
    if (g.outputs.contains(tensor)) {
      return true;
    }
    for (int consumer : g.consumers.getOrDefault(tensor, List.of())) {
      if (g.nodeLayer[consumer] != layer) {
        return true;
      }
    }
    return false;
  }

  /** Width of the hidden state: the second dimension of the token embedding table. */
  int hiddenSize() {
    NodeProto gather = g.node(g.producerIndex.get(tokenEmbeddingGather()));
    return (int) g.initializers.get(gather.getInput(0)).getDims(1);
  }

  /** Output of the Gather that looks the token ids up in the embedding table. */
  private String tokenEmbeddingGather() {
    for (int consumer : g.consumers.getOrDefault(tokenIdsInput, List.of())) {
      NodeProto n = g.node(consumer);
      if (n.getOpType().equals("Gather")) {
        TensorProto table = g.initializers.get(n.getInput(0));
        if (table != null && table.getDimsCount() == 2) {
          return n.getOutput(0);
        }
      }
    }
    throw ModelFormatException.notAnEncoder(model, "no token embedding table (Gather on " + tokenIdsInput + ")");
  }
}
