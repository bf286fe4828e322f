package dev.exitflow.model;

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
 */
public record ModelDescriptor(
    String name,
    Path onnxFile,
    Path tokenizerFile,
    Pooling pooling,
    int maxSequenceLength,
    List<Integer> exitLayers,
    boolean tokenTypeIds,
    String precision) {

  public static final String FILE_NAME = "exitflow-model.json";

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

  public int deepLayer() {
    return exitLayers.get(exitLayers.size() - 1);
  }

  /** Same model with other exits, e.g. a plan that cuts it differently. */
  public ModelDescriptor withExitLayers(List<Integer> layers) {
    return new ModelDescriptor(name, onnxFile, tokenizerFile, pooling, maxSequenceLength, layers, tokenTypeIds,
        precision);
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

  static ModelDescriptor parse(InputStream json, String defaultName, Path baseDir) throws IOException {
    JsonNode n = new ObjectMapper().readTree(json);
    List<Integer> exits = new ArrayList<>();
    n.path("exit_layers").forEach(e -> exits.add(e.asInt()));
    return new ModelDescriptor(
        n.path("name").asText(defaultName),
        baseDir.resolve(required(n, "onnx")),
        baseDir.resolve(required(n, "tokenizer")),
        Pooling.parse(n.path("pooling").asText("mean")),
        n.path("max_sequence_length").asInt(512),
        exits,
        n.path("token_type_ids").asBoolean(true),
        n.path("precision").asText("fp32"));
  }

  private static String required(JsonNode n, String field) {
    if (!n.hasNonNull(field)) {
      throw new ModelFormatException("bad_descriptor", FILE_NAME + " lacks the field '" + field + "'");
    }
    return n.get(field).asText();
  }

  private static void requireFile(Path p, String what) {
    if (!Files.isRegularFile(p)) {
      throw ModelFormatException.missingFile(p, what);
    }
  }
}
