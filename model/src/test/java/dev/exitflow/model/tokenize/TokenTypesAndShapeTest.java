package dev.exitflow.model.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** token_type_ids in the descriptor decides what the graph is fed; a tokenizer file of the wrong shape says what it lacks. */
class TokenTypesAndShapeTest {
  @TempDir Path dir;

  private ModelDescriptor with(Path tokenizer, Boolean tokenTypeIds) {
    ModelDescriptor b = TestModels.builtin("all-minilm-l6-v2");
    return new ModelDescriptor("types", b.onnxFile(), tokenizer, b.pooling(), 128, b.exitLayers(), tokenTypeIds, null);
  }

  @Test
  void tokenTypesAreFedOnlyWhenTheDescriptorSaysSo() throws Exception {
    // A tokenizer whose template marks a single text as segment B (type 1), so fed or not shows.
    Path original = TestModels.builtin("all-minilm-l6-v2").tokenizerFile();
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(original.toFile());
    for (JsonNode piece : json.path("post_processor").path("single")) {
      piece.elements().forEachRemaining(p -> ((ObjectNode) p).put("type_id", 1));
    }
    Path segmentB = dir.resolve("tokenizer.json");
    new ObjectMapper().writeValue(segmentB.toFile(), json);
    List<String> text = List.of("A man is playing a flute.");
    try (TextTokenizer fed = new TextTokenizer(with(segmentB, true));
        TextTokenizer zeros = new TextTokenizer(with(segmentB, false))) {
      long[] types = fed.tokenize(text).get(0).typeIds();
      assertTrue(Arrays.stream(types).allMatch(t -> t == 1), "the edited template took: " + Arrays.toString(types));
      assertArrayEquals(new long[types.length], zeros.tokenize(text).get(0).typeIds());
    }
    float[] plain;
    float[] asFed;
    float[] asZeros;
    try (StagedEncoder e = StagedEncoder.open(with(original, null), TestModels.settings().withAdapters(false))) {
      plain = e.embed(text, "deep", null).get(0).vector();
    }
    try (StagedEncoder e = StagedEncoder.open(with(segmentB, true), TestModels.settings().withAdapters(false))) {
      asFed = e.embed(text, "deep", null).get(0).vector();
    }
    try (StagedEncoder e = StagedEncoder.open(with(segmentB, false), TestModels.settings().withAdapters(false))) {
      asZeros = e.embed(text, "deep", null).get(0).vector();
    }
    assertArrayEquals(plain, asZeros, "false feeds zeros: the model's own segment A");
    assertFalse(Arrays.equals(plain, asFed), "true feeds the tokenizer's type 1, which changes the embedding");
  }

  @Test
  void aTokenizerOfTheWrongShapeSaysWhatIsMissing() throws Exception {
    ModelFormatException noModel = assertThrows(ModelFormatException.class,
        () -> new TextTokenizer(with(Files.writeString(dir.resolve("a.json"), "{\"x\":1}"), null)));
    assertEquals("bad_tokenizer", noModel.code());
    assertTrue(noModel.getMessage().contains("has no 'model' object") && noModel.getMessage().contains("[x]"),
        noModel.getMessage());

    ModelFormatException noVocab = assertThrows(ModelFormatException.class, () -> new TextTokenizer(
        with(Files.writeString(dir.resolve("b.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}"), null)));
    assertTrue(noVocab.getMessage().contains("has no vocabulary") && noVocab.getMessage().contains("WordPiece"),
        noVocab.getMessage());

    ModelFormatException syntax = assertThrows(ModelFormatException.class,
        () -> new TextTokenizer(with(Files.writeString(dir.resolve("c.json"), "{\"model\": "), null)));
    assertTrue(syntax.getMessage().contains("is not valid JSON"), syntax.getMessage());
  }
}
