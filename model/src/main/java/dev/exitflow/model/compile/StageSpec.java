package dev.exitflow.model.compile;

import java.util.List;

/**
 * One compiled stage: encoder layers {@code firstLayer..lastLayer} (counting from 1), stored as its
 * own ONNX file. Stage 1 also holds the embeddings. The output is the hidden state after
 * {@code lastLayer}, shaped [batch, sequence, hidden]. {@code layerOutputs} are extra outputs of
 * the same shape: the states of the layers inside the stage (layer 0 is the embeddings' output),
 * which exit adapters pool as features; a runtime that does not ask for them pays nothing.
 */
public record StageSpec(
    int index, int firstLayer, int lastLayer, String file, List<Input> inputs, String output, List<LayerOutput> layerOutputs) {
  /** An ONNX input of the stage and what the runtime must feed it. */
  public record Input(String name, InputRole role) {}

  /** An extra ONNX output holding the state after encoder layer {@code layer} (0: embeddings). */
  public record LayerOutput(int layer, String name) {}

  public StageSpec {
    inputs = List.copyOf(inputs);
    layerOutputs = layerOutputs == null ? List.of() : List.copyOf(layerOutputs);
  }

  /** A stage without extra layer outputs. */
  public StageSpec(int index, int firstLayer, int lastLayer, String file, List<Input> inputs, String output) {
    this(index, firstLayer, lastLayer, file, inputs, output, List.of());
  }
}
