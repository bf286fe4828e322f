package dev.exitflow.distill;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageCompiler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The ONNX form of a trained branch: the stage compiler cuts the model once more, with an exit
 * right after the branch's layer, so that layer alone becomes a stage (the exit's hidden state and
 * the attention mask in, the layer's state out); its weights are then replaced by the trained ones.
 * The serving engine pools its output ({@code BranchSession}).
 */
final class BranchGraph {
  private BranchGraph() {}

  /** Writes {@code trained} (layer {@code trained.layer()}, 0-based) of {@code model} as a branch graph to {@code file}. */
  static void write(ModelDescriptor model, LayerWeights trained, Path file) throws IOException {
    int exit = trained.layer(); // the branch reads exit `exit`'s state and is layer exit+1 (1-based)
    List<Integer> exits = new ArrayList<>(List.of(exit, exit + 1));
    if (model.deepLayer() > exit + 1) {
      exits.add(model.deepLayer());
    }
    Path tmp = Files.createTempDirectory("exitflow-branch");
    try {
      CompiledModel cut = StageCompiler.compile(model.withExitLayers(exits), tmp);
      ModelProto proto;
      try (InputStream in = Files.newInputStream(cut.stageFile(cut.stages().get(1)))) {
        proto = ModelProto.parseFrom(in);
      }
      GraphProto.Builder graph = proto.getGraph().toBuilder();
      boolean quantized = LayerWeights.quantized(proto.getGraph(), exit);
      for (Map.Entry<String, LayerWeights.Tensor> e : trained.tensors().entrySet()) {
        LayerWeights.Tensor v = e.getValue();
        if (quantized && LayerWeights.DENSE_WEIGHTS.contains(e.getKey())) {
          // The int8 model's layers: int8 matrix, scale and zero point per column, as the model's own.
          LayerWeights.Quantized q = LayerWeights.Quantized.quantize(
              LayerWeights.quantizedWeight(proto.getGraph(), exit, e.getKey()), v);
          replace(graph, q.valuesName(), ByteString.copyFrom(q.values()), q.shape());
          replace(graph, q.scaleName(), raw(q.scale()), new long[] {q.scale().length});
          replace(graph, q.zeroPointName(), ByteString.copyFrom(q.zeroPoint()), new long[] {q.zeroPoint().length});
          continue;
        }
        replace(graph, LayerWeights.initializerName(proto.getGraph(), exit, e.getKey()), raw(v.values()), v.shape());
      }
      // Recorded inner shapes would contradict a narrowed MLP; ONNX Runtime infers them again.
      graph.clearValueInfo();
      graph.setName(model.name() + "-branch-exit" + exit);
      Files.createDirectories(file.getParent());
      Path part = file.resolveSibling(file.getFileName() + ".tmp");
      Files.write(part, proto.toBuilder().setGraph(graph).build().toByteArray());
      Files.move(part, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      try (Stream<Path> files = Files.walk(tmp)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** Sets initializer {@code name}'s raw data and shape (its type stays). */
  private static void replace(GraphProto.Builder graph, String name, ByteString data, long[] shape) {
    for (int i = 0; i < graph.getInitializerCount(); i++) {
      TensorProto t = graph.getInitializer(i);
      if (t.getName().equals(name)) {
        TensorProto.Builder w = t.toBuilder().clearFloatData().clearInt32Data().clearDims().setRawData(data);
        for (long d : shape) {
          w.addDims(d);
        }
        graph.setInitializer(i, w.build());
      }
    }
  }

  private static ByteString raw(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return ByteString.copyFrom(b.array());
  }
}
