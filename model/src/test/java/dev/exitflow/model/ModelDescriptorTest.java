package dev.exitflow.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every field of exitflow-model.json is read with its type checked; anything else is refused by name. */
class ModelDescriptorTest {
  private static final String BASE = "\"onnx\": \"m.onnx\", \"tokenizer\": \"t.json\"";

  private static ModelDescriptor parse(String json) throws Exception {
    return ModelDescriptor.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "dir", Path.of("/m"));
  }

  private static String refused(String json) {
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> parse(json));
    assertEquals("bad_descriptor", e.code());
    return e.getMessage();
  }

  @Test
  void readsEveryFieldAndDefaultsTheOptionalOnes() throws Exception {
    ModelDescriptor d = parse("{\"name\": \"x\", " + BASE + ", \"pooling\": \"cls\", \"max_sequence_length\": 128, "
        + "\"exit_layers\": [4, 8, 12], \"token_type_ids\": false, \"precision\": \"int8\"}");
    assertEquals("x", d.name());
    assertEquals(Path.of("/m/m.onnx"), d.onnxFile());
    assertEquals(Pooling.CLS, d.pooling());
    assertEquals(128, d.maxSequenceLength());
    assertEquals(List.of(4, 8, 12), d.exitLayers());
    assertFalse(d.feedsTokenTypes());
    assertEquals("int8", d.precision());

    ModelDescriptor defaults = parse("{" + BASE + ", \"exit_layers\": [6]}");
    assertEquals("dir", defaults.name());
    assertEquals(Pooling.MEAN, defaults.pooling());
    assertEquals(512, defaults.maxSequenceLength());
    assertNull(defaults.tokenTypeIds(), "left out: fed when the graph takes them");
    assertTrue(defaults.feedsTokenTypes());
    assertEquals("fp32", defaults.precision());
  }

  @Test
  void unknownFieldsAreRefusedWithTheKnownOnes() {
    String m = refused("{" + BASE + ", \"exit_layers\": [6], \"poolng\": \"cls\"}");
    assertTrue(m.contains("[poolng]") && m.contains(ModelDescriptor.FIELDS.toString()), m);
  }

  @Test
  void typesAreCheckedNamingTheFieldAndTheExpectedType() {
    String exits = refused("{" + BASE + ", \"exit_layers\": \"4,8,12\"}");
    assertTrue(exits.contains("'exit_layers' must be an array of integers") && exits.contains("\"4,8,12\""), exits);
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [4, 8.5, 12]}").contains("array of integers"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [6], \"max_sequence_length\": \"256\"}")
        .contains("'max_sequence_length' must be an integer"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [6], \"token_type_ids\": \"yes\"}")
        .contains("'token_type_ids' must be true or false"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [6], \"pooling\": 1}").contains("'pooling' must be a string"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [6], \"precision\": \"int4\"}")
        .contains("'precision' must be one of [fp32, fp16, int8]"));
    assertTrue(refused("{\"onnx\": 3, \"tokenizer\": \"t.json\", \"exit_layers\": [6]}")
        .contains("'onnx' must be a string"));
    assertTrue(refused("{" + BASE + "}").contains("lacks the field 'exit_layers'"));
    assertTrue(refused("{\"tokenizer\": \"t.json\", \"exit_layers\": [6]}").contains("lacks the field 'onnx'"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": []}").contains("names no exit layers"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [8, 4]}").contains("increasing"));
  }

  @Test
  void malformedJsonIsRefusedAsSuch() {
    assertTrue(refused("[1, 2]").contains("must be a JSON object"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [6], \"exit_layers\": [3]}").contains("not valid JSON"));
    assertTrue(refused("{" + BASE + ", \"exit_layers\": [6]} {}").contains("not valid JSON"));
    assertTrue(refused("{" + BASE + ", ").contains("not valid JSON"));
  }
}
