package dev.exitflow.model;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.eval.StsFiles;
import java.nio.file.Path;

/** Settings and models for tests: the real built-in models, cached under target/ of this module. */
public final class TestModels {
  private TestModels() {}

  public static ModelSettings settings() {
    return ModelSettings.create(ConfigFactory.parseString(
            "exitflow.model.cache-dir = \"" + Path.of("target/exitflow-cache").toAbsolutePath() + "\"")
        .withFallback(ConfigFactory.load()));
  }

  public static ModelDescriptor builtin(String name) {
    return new ModelRepository(settings()).resolve(name);
  }

  public static Path sts(String file) {
    return StsFiles.locate(file);
  }
}
