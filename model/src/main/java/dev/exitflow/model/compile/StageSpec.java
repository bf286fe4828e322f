package dev.exitflow.model.compile;

import java.util.List;

/**
 * One compiled stage: encoder layers {@code firstLayer..lastLayer} (counting from 1), stored as its
 * own ONNX file. Stage 1 also holds the embeddings. The output is the hidden state after
 * {@code lastLayer}, shaped [batch, sequence, hidden].
 */
public record StageSpec(int index, int firstLayer, int lastLayer, String file, List<Input> inputs, String output) {
  /** An ONNX input of the stage and what the runtime must feed it. */
  public record Input(String name, InputRole role) {}

  public StageSpec {
    inputs = List.copyOf(inputs);
  }
}
