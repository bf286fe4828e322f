package dev.exitflow.model;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.eval.StsFiles;
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
}
