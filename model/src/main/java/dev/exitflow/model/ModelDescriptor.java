package dev.exitflow.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What Exitflow needs to know about an encoder beyond its ONNX graph. Read from
 * {@value #FILE_NAME} in a model directory (or from a built-in's resource):
 *
 * <pre>{"name": "my-model", "onnx": "model.onnx", "tokenizer": "tokenizer.json",
 *  "pooling": "mean", "max_sequence_length": 256, "exit_layers": [2, 4, 6],
 *  "token_type_ids": true, "precision": "fp32"}</pre>
 *
 * Exit layers count from 1 (the output of the first encoder layer); the last one is the deep exit
 * and must be the model's last layer. {@code precision} names the weights' number format for reports
 * ({@code fp32} unless the descriptor says otherwise, e.g. {@code int8} for a quantized export).
 * {@code token_type_ids}: {@code true} feeds the tokenizer's type ids and requires the graph to take
 * them, {@code false} feeds zeros (BERT's "sentence A"), left out (null here) feeds the tokenizer's
 * to a graph that takes them. Every field is type-checked and unknown fields are refused.
 */
public record ModelDescriptor(
    String name,
    Path onnxFile,
    Path tokenizerFile,
    Pooling pooling,
    int maxSequenceLength,
    List<Integer> exitLayers,
    Boolean tokenTypeIds,
    String precision) {

  public static final String FILE_NAME = "exitflow-model.json";
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  public ModelDescriptor {
    exitLayers = List.copyOf(exitLayers);
    precision = precision == null ? "fp32" : precision;
    if (exitLayers.isEmpty()) {
      throw new ModelFormatException("bad_descriptor", "model '" + name + "' names no exit layers");
    }
    for (int i = 0; i < exitLayers.size(); i++) {
      if (exitLayers.get(i) < 1 || (i > 0 && exitLayers.get(i) <= exitLayers.get(i - 1))) {
        throw new ModelFormatException(
            "bad_descriptor", "model '" + name + "': exit layers must be increasing and >= 1, got " + exitLayers);
      }
    }
    if (maxSequenceLength < 2) {
      throw new ModelFormatException("bad_descriptor", "model '" + name + "': max_sequence_length must be >= 2");
    }
  }

  /** Whether the tokenizer's type ids are fed as they are; false feeds zeros. */
  public boolean feedsTokenTypes() {
    return !Boolean.FALSE.equals(tokenTypeIds);
  }

  public int deepLayer() {
    return exitLayers.get(exitLayers.size() - 1);
  }

  /** Same model with other exits, e.g. a plan that cuts it differently. */
  public ModelDescriptor withExitLayers(List<Integer> layers) {
    return new ModelDescriptor(name, onnxFile, tokenizerFile, pooling, maxSequenceLength, layers, tokenTypeIds,
        precision);
  }

  /**
   * Same model truncating at another length, e.g. to measure inputs longer than the descriptor
   * allows (the graph's position embeddings set the real limit). Adapters are keyed on the length,
   * so the saved ones of the original length do not apply.
   */
  public ModelDescriptor withMaxSequenceLength(int length) {
    return new ModelDescriptor(name, onnxFile, tokenizerFile, pooling, length, exitLayers, tokenTypeIds, precision);
  }

  /** Reads {@value #FILE_NAME} from a model directory; file names in it are relative to the directory. */
  public static ModelDescriptor readDirectory(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw ModelFormatException.missingFile(file, "model descriptor " + FILE_NAME);
    }
    try (InputStream in = Files.newInputStream(file)) {
      ModelDescriptor d = parse(in, dir.getFileName().toString(), dir);
      requireFile(d.onnxFile(), "ONNX graph");
      requireFile(d.tokenizerFile(), "tokenizer.json");
      return d;
    } catch (IOException e) {
      throw new ModelFormatException("bad_descriptor", "cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** The fields {@value #FILE_NAME} may hold; any other is refused, so a misspelt one is never ignored. */
  public static final List<String> FIELDS = List.of(
      "name", "onnx", "tokenizer", "pooling", "max_sequence_length", "exit_layers", "token_type_ids", "precision");
  /** Number formats of the weights a descriptor may declare (reports show it; caches key on it). */
  public static final List<String> PRECISIONS = List.of("fp32", "fp16", "int8");

  static ModelDescriptor parse(InputStream json, String defaultName, Path baseDir) throws IOException {
    JsonNode n;
    try {
      n = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw bad("is not valid JSON: " + e.getOriginalMessage());
    }
    if (n == null || !n.isObject()) {
      throw bad("must be a JSON object, e.g. {\"onnx\": \"model.onnx\", \"tokenizer\": \"tokenizer.json\", "
          + "\"exit_layers\": [4, 8, 12]}");
    }
    List<String> unknown = new ArrayList<>();
    n.fieldNames().forEachRemaining(f -> {
      if (!FIELDS.contains(f)) {
        unknown.add(f);
      }
    });
    if (!unknown.isEmpty()) {
      throw bad("has unknown field" + (unknown.size() > 1 ? "s " : " ") + unknown + "; the known ones are " + FIELDS);
    }
    String precision = text(n, "precision", "fp32");
    if (!PRECISIONS.contains(precision)) {
      throw bad("field 'precision' must be one of " + PRECISIONS + ", got '" + precision + "'");
    }
    return new ModelDescriptor(
        text(n, "name", defaultName),
        baseDir.resolve(required(n, "onnx")),
        baseDir.resolve(required(n, "tokenizer")),
        Pooling.parse(text(n, "pooling", "mean")),
        integer(n, "max_sequence_length", 512),
        exitLayers(n),
        bool(n, "token_type_ids"),
        precision);
  }

  private static ModelFormatException bad(String what) {
    return new ModelFormatException("bad_descriptor", FILE_NAME + " " + what);
  }

  private static JsonNode field(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v;
  }

  private static String text(JsonNode n, String field, String otherwise) {
    JsonNode v = field(n, field);
    if (v == null) {
      return otherwise;
    }
    if (!v.isTextual()) {
      throw bad("field '" + field + "' must be a string, got " + v);
    }
    return v.asText();
  }

  private static int integer(JsonNode n, String field, int otherwise) {
    JsonNode v = field(n, field);
    if (v == null) {
      return otherwise;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw bad("field '" + field + "' must be an integer, got " + v);
    }
    return v.intValue();
  }

  private static Boolean bool(JsonNode n, String field) {
    JsonNode v = field(n, field);
    if (v != null && !v.isBoolean()) {
      throw bad("field '" + field + "' must be true or false, got " + v);
    }
    return v == null ? null : v.booleanValue();
  }

  private static List<Integer> exitLayers(JsonNode n) {
    JsonNode v = field(n, "exit_layers");
    if (v == null) {
      throw bad("lacks the field 'exit_layers' (an array of integers, the last one the model's last layer)");
    }
    String expected = "field 'exit_layers' must be an array of integers, e.g. [4, 8, 12], got " + v;
    if (!v.isArray()) {
      throw bad(expected);
    }
    List<Integer> exits = new ArrayList<>();
    for (JsonNode e : v) {
      if (!e.isIntegralNumber() || !e.canConvertToInt()) {
        throw bad(expected);
      }
      exits.add(e.intValue());
    }
    return exits;
  }

  private static String required(JsonNode n, String field) {
    String v = text(n, field, null);
    if (v == null || v.isBlank()) {
      throw bad("lacks the field '" + field + "'");
    }
    return v;
  }

  private static void requireFile(Path p, String what) {
    if (!Files.isRegularFile(p)) {
      throw ModelFormatException.missingFile(p, what);
    }
  }
}
