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

  /** The model named, or the configured default. */
  String reference() {
    return model != null ? model : settings().defaultModel();
  }

  ModelDescriptor resolve() {
    return resolve(reference());
  }

  /** Another model, e.g. the one a plan names, resolved the same way. */
  ModelDescriptor resolve(String reference) {
    return new ModelRepository(settings()).resolve(reference);
  }
}
