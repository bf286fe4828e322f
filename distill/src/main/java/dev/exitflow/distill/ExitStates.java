package dev.exitflow.distill;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.runtime.PaddedBatch;
import dev.exitflow.model.runtime.StagedEncoder;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * What the branches train on and are evaluated with, computed once with the engine (ONNX Runtime,
 * the compiled stages as served): each text's token states at the shallow exits ({@code states[e][text]},
 * {@code lengths[text]} rows of {@code hiddenSize}) and, when asked, its deep embedding (unit length)
 * and, when asked too, the deep layer's token states (for a token-level loss).
 * Training never runs the frozen layers again.
 */
record ExitStates(int hiddenSize, int[] lengths, float[][][] states, float[][] deep, float[][] deepTokens) {

  /**
   * Runs {@code texts} once through the stages, keeping the states after the stages in
   * {@code exitStages} (0-based) and, when {@code withDeep}, the deep exit's embedding.
   */
  static ExitStates collect(StagedEncoder encoder, List<String> texts, int[] exitStages, boolean withDeep,
      IntConsumer progress) throws OrtException {
    return collect(encoder, texts, exitStages, withDeep, false, progress);
  }

  static ExitStates collect(StagedEncoder encoder, List<String> texts, int[] exitStages, boolean withDeep,
      boolean withDeepTokens, IntConsumer progress) throws OrtException {
    int last = withDeep ? encoder.exits().layers().size() - 1 : Arrays.stream(exitStages).max().orElseThrow();
    List<TokenizedText> tokens = encoder.tokenizer().tokenize(texts);
    Integer[] order = new Integer[tokens.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> tokens.get(i).length())); // little padding per batch
    int[] lengths = new int[texts.size()];
    float[][][] states = new float[exitStages.length][texts.size()][];
    float[][] deep = withDeep ? new float[texts.size()][] : null;
    float[][] deepTokens = withDeep && withDeepTokens ? new float[texts.size()][] : null;
    int batchSize = encoder.batchSize();
    for (int from = 0; from < order.length; from += batchSize) {
      List<Integer> members = Arrays.asList(order).subList(from, Math.min(order.length, from + batchSize));
      List<TokenizedText> batch = new ArrayList<>(members.stream().map(tokens::get).toList());
      PaddedBatch out = null;
      for (int s = 0; s <= last; s++) {
        out = encoder.stage(s).run(batch, out, false);
        for (int e = 0; e < exitStages.length; e++) {
          if (exitStages[e] == s) {
            List<HiddenState> split = out.split();
            for (int k = 0; k < split.size(); k++) {
              states[e][members.get(k)] = split.get(k).values();
              lengths[members.get(k)] = split.get(k).length();
            }
          }
        }
      }
      if (withDeep) {
        List<HiddenState> split = out.split();
        List<float[]> vectors = encoder.head(last).applyAll(split, null);
        for (int k = 0; k < vectors.size(); k++) {
          deep[members.get(k)] = vectors.get(k);
          if (deepTokens != null) {
            deepTokens[members.get(k)] = split.get(k).values();
          }
        }
      }
      progress.accept(members.size());
    }
    return new ExitStates(encoder.hiddenSize(), lengths, states, deep, deepTokens);
  }

  int size() {
    return lengths.length;
  }
}
