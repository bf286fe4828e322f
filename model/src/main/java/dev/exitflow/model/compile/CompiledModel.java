package dev.exitflow.model.compile;

import java.nio.file.Path;
import java.util.List;

/**
 * A model cut into stages at its exit layers. {@code directory} holds one ONNX file per stage and
 * the manifest this record was read from.
 */
public record CompiledModel(String model, int layers, int hiddenSize, List<StageSpec> stages, Path directory) {
  public CompiledModel {
    stages = List.copyOf(stages);
  }

  public Path stageFile(StageSpec stage) {
    return directory.resolve(stage.file());
  }
}
