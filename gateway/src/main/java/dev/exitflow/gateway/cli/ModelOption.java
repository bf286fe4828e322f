package dev.exitflow.gateway.cli;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.ReserveExit;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.plan.Plan;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Option;

/** {@code --model NAME|DIR}, shared by the commands that load a model (the research jar's too). */
public final class ModelOption {
  @Option(names = "--model", paramLabel = "NAME|DIR",
      description = "Built-in model name (all-minilm-l6-v2, all-minilm-l6-v2-q) or a model directory; "
          + "default: exitflow.model.default")
  String model;

  private ModelSettings settings;

  public ModelSettings settings() {
    if (settings == null) {
      settings = ModelSettings.create(ConfigFactory.load());
    }
    return settings;
  }

  /** The model named, or the configured default. */
  String reference() {
    return model != null ? model : settings().defaultModel();
  }

  public ModelDescriptor resolve() {
    return resolve(reference());
  }

  /**
   * The plan in {@code planFile} (a plan names its model, so --model must then be left out), or
   * with none the model as it comes; with the reserve exit, as {@code serve} runs it.
   */
  Plan plan(Path planFile, CommandSpec spec) {
    refuseBoth(planFile, spec);
    Plan plan = planFile != null ? Plan.read(planFile) : Plan.of(reference());
    return ReserveExit.apply(plan, resolve(plan.model()), ConfigFactory.load());
  }

  /** --plan names its model: giving --model as well is a usage error. */
  void refuseBoth(Path planFile, CommandSpec spec) {
    if (planFile != null && model != null) {
      throw new ParameterException(spec.commandLine(), "--plan names its model; leave out --model");
    }
  }

  /** Another model, e.g. the one a plan names, resolved the same way. */
  public ModelDescriptor resolve(String reference) {
    return new ModelRepository(settings()).resolve(reference);
  }
}
