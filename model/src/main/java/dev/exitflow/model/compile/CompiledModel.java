package dev.exitflow.model.compile;

import java.nio.file.Path;
import java.util.List;

/**
 * A model cut into stages at its exit layers. {@code directory} holds one ONNX file per stage and
 * the manifest this record was read from. {@code adapterKey} names what, beyond the stage graphs,
 * shapes the adapters fitted on them (see {@link AdapterKey}); their directory is named after it.
 */
public record CompiledModel(String model, int layers, int hiddenSize, List<StageSpec> stages, Path directory,
    AdapterKey adapterKey) {
  public CompiledModel {
    stages = List.copyOf(stages);
  }

  /** Stages read without a descriptor at hand: their adapters live in the unkeyed directory. */
  public CompiledModel(String model, int layers, int hiddenSize, List<StageSpec> stages, Path directory) {
    this(model, layers, hiddenSize, stages, directory, null);
  }

  public Path stageFile(StageSpec stage) {
    return directory.resolve(stage.file());
  }
}
