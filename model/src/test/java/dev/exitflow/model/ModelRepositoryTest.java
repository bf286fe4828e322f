package dev.exitflow.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRepositoryTest {
  @TempDir Path dir;

  private final ModelRepository repository = new ModelRepository(TestModels.settings());

  @Test
  void loadsAModelDirectoryWithItsOwnDescriptor() throws Exception {
    ModelDescriptor builtin = TestModels.builtin("all-minilm-l6-v2-q");
    Files.copy(builtin.onnxFile(), dir.resolve("model.onnx"));
    Files.copy(builtin.tokenizerFile(), dir.resolve("tokenizer.json"));
    Files.writeString(dir.resolve(ModelDescriptor.FILE_NAME), """
        {"name": "minilm-cls", "onnx": "model.onnx", "tokenizer": "tokenizer.json",
         "pooling": "cls", "max_sequence_length": 128, "exit_layers": [3, 6], "token_type_ids": true}
        """);

    ModelDescriptor d = repository.resolve(dir.toString());
    assertEquals("minilm-cls", d.name());
    assertEquals(Pooling.CLS, d.pooling());
    assertEquals(List.of(3, 6), d.exitLayers());
    try (StagedEncoder engine = StagedEncoder.open(d, TestModels.settings())) {
      assertEquals(3, engine.embed(List.of("a test"), "shallow", null).get(0).exitLayer());
      assertEquals(128, engine.embed(List.of("word ".repeat(500)), "deep", null).get(0).tokens());
    }
  }

  @Test
  void aDirectoryWithoutTokenizerIsRefusedNamingTheFile() throws Exception {
    Files.writeString(dir.resolve(ModelDescriptor.FILE_NAME),
        "{\"onnx\": \"model.onnx\", \"tokenizer\": \"tokenizer.json\", \"exit_layers\": [6]}");
    Files.writeString(dir.resolve("model.onnx"), "x");
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> repository.resolve(dir.toString()));
    assertEquals("missing_model_file", e.code());
    assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
  }

  @Test
  void aDirectoryWithoutDescriptorIsRefused() {
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> repository.resolve(dir.toString()));
    assertTrue(e.getMessage().contains(ModelDescriptor.FILE_NAME), e.getMessage());
  }

  @Test
  void anUnknownNameIsRefused() {
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> repository.resolve("no-such-model"));
    assertEquals("unknown_model", e.code());
  }
}
