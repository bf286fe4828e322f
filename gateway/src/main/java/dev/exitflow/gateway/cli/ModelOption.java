package dev.exitflow.gateway.cli;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import picocli.CommandLine.Option;

/** {@code --model NAME|DIR}, shared by the commands that load a model. */
final class ModelOption {
  @Option(names = "--model", paramLabel = "NAME|DIR",
      description = "Built-in model name (all-minilm-l6-v2, all-minilm-l6-v2-q) or a model directory; "
          + "default: exitflow.model.default")
  String model;

  private ModelSettings settings;

  ModelSettings settings() {
    if (settings == null) {
      settings = ModelSettings.create(ConfigFactory.load());
    }
    return settings;
  }

  ModelDescriptor resolve() {
    return new ModelRepository(settings()).resolve(model != null ? model : settings().defaultModel());
  }
}
