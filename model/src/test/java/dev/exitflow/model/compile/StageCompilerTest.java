package dev.exitflow.model.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import dev.exitflow.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StageCompilerTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2", "all-minilm-l6-v2-q"})
  void cutsAtAnyExitLayers(String name) {
    ModelDescriptor model = TestModels.builtin(name).withExitLayers(List.of(1, 3, 6));
    CompiledModel compiled = StageCompiler.compile(model, tmp);

    assertEquals(6, compiled.layers());
    assertEquals(384, compiled.hiddenSize());
    assertEquals(3, compiled.stages().size());
    StageSpec first = compiled.stages().get(0);
    assertEquals(List.of(InputRole.TOKEN_IDS, InputRole.ATTENTION_MASK, InputRole.TOKEN_TYPE_IDS),
        first.inputs().stream().map(StageSpec.Input::role).toList());
    assertEquals(1, first.lastLayer());
    for (StageSpec later : compiled.stages().subList(1, 3)) {
      // Later stages take the hidden state and recompute the attention mask from the raw mask.
      assertEquals(List.of(InputRole.HIDDEN_STATE, InputRole.ATTENTION_MASK),
          later.inputs().stream().map(StageSpec.Input::role).toList());
      assertTrue(Files.isRegularFile(compiled.stageFile(later)));
    }
    assertEquals(4, compiled.stages().get(2).firstLayer());
  }

  @Test
  void findsLayerScopesInExporterNames() {
    assertEquals(3, OnnxGraph.layerIn("/encoder/layer.3/attention/self/query/MatMul"));
    assertEquals(11, OnnxGraph.layerIn("bert.encoder.layer.11.output.dense.weight"));
    assertEquals(0, OnnxGraph.layerIn("/model/layers.0/mlp/Add"));
    assertEquals(OnnxGraph.NO_LAYER, OnnxGraph.layerIn("/embeddings/LayerNorm/Add_1"));
    assertEquals(OnnxGraph.NO_LAYER, OnnxGraph.layerIn("/pooler/dense/MatMul"));
  }

  @Test
  void refusesAGraphThatIsNotAnEncoder() throws Exception {
    ValueInfoProto x = ValueInfoProto.newBuilder().setName("input_ids").build();
    GraphProto graph = GraphProto.newBuilder()
        .setName("not-bert")
        .addInput(x)
        .addNode(NodeProto.newBuilder().setOpType("Identity").setName("/identity").addInput("input_ids").addOutput("y"))
        .addOutput(ValueInfoProto.newBuilder().setName("y"))
        .build();
    Path onnx = tmp.resolve("model.onnx");
    Files.write(onnx, ModelProto.newBuilder().setIrVersion(7)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(graph).build().toByteArray());
    ModelDescriptor d = TestModels.builtin("all-minilm-l6-v2");
    ModelDescriptor notBert = new ModelDescriptor("not-bert", onnx, d.tokenizerFile(), d.pooling(), 128, List.of(1), true, null);

    ModelFormatException e = assertThrows(ModelFormatException.class, () -> StageCompiler.compile(notBert, tmp.resolve("out")));
    assertEquals("not_an_encoder", e.code());
    assertTrue(e.getMessage().contains("not-bert"), e.getMessage());
  }

  @Test
  void refusesAFileThatIsNotOnnx() throws Exception {
    Path onnx = Files.writeString(tmp.resolve("model.onnx"), "this is not a protobuf \u0000\u0001\u0002");
    ModelDescriptor d = TestModels.builtin("all-minilm-l6-v2");
    ModelDescriptor bad = new ModelDescriptor("bad", onnx, d.tokenizerFile(), d.pooling(), 128, List.of(1), true, null);
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> StageCompiler.compile(bad, tmp.resolve("out")));
    assertTrue(e.code().equals("not_onnx") || e.code().equals("not_an_encoder"), e.code());
  }

  @Test
  void refusesADeepExitThatIsNotTheLastLayer() {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2").withExitLayers(List.of(2, 4));
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> StageCompiler.compile(model, tmp));
    assertEquals("bad_descriptor", e.code());
    assertTrue(e.getMessage().contains("6 layers"), e.getMessage());
  }
}
