package dev.exitflow.model.calibrate;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.runtime.LayerFeatures;
import dev.exitflow.model.runtime.PaddedBatch;
import dev.exitflow.model.runtime.StagedEncoder;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Self-distillation after the fact: runs an unlabeled corpus through every stage once and fits for
 * each exit but the last an adapter from the features available there to the deep embedding. Each
 * batch's pooled layer features go into the ridge system as the batch leaves the stages
 * ({@link ExitAdapter.Fitter}); only the held-out sentences' are kept, for the fidelity.
 */
public final class AdapterCalibrator {
  /** Told how calibration advances, e.g. to drive a progress bar. */
  public interface Listener {
    default void embedded(int sentences) {}

    default void fitting(List<Integer> exitLayers, List<Integer> features) {}

    default void fitted(List<ExitAdapter> adapters, double seconds) {}
  }

  private AdapterCalibrator() {}

  /** {@code encoder} must come from {@link StagedEncoder#openForCalibration}; adapters read every feature. */
  public static ExitAdapters calibrate(StagedEncoder encoder, List<String> corpus, double penalty, Listener listener)
      throws OrtException {
    return calibrate(encoder, corpus, penalty, false, listener);
  }

  /**
   * As above; with {@code meansAndSep} the adapters read only the content means and the [SEP]
   * states of layers 1 and up (see {@link LayerFeatures#meansAndSep}), which suits the int8 model.
   */
  public static ExitAdapters calibrate(StagedEncoder encoder, List<String> corpus, double penalty, boolean meansAndSep,
      Listener listener) throws OrtException {
    List<Integer> exits = encoder.exits().layers();
    int deep = exits.size() - 1;
    int hidden = encoder.hiddenSize();
    List<TokenizedText> tokens = encoder.tokenizer().tokenize(corpus);
    Integer[] order = new Integer[tokens.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt(i -> tokens.get(i).length()));
    List<Integer> layers = exits.subList(0, deep);
    List<Integer> widths = layers.stream().map(layer -> LayerFeatures.width(layer, hidden)).toList();
    int[] keep = meansAndSep ? LayerFeatures.meansAndSepIndices(widths.get(widths.size() - 1), hidden) : null;
    int batchSize = encoder.batchSize();
    Map<Integer, ExitAdapter> adapters = new LinkedHashMap<>();
    double seconds;
    // Each batch's features go into the ridge system as they come; nothing but the held-out rows is kept.
    try (ExitAdapter.Fitter fitter = new ExitAdapter.Fitter(encoder.model().name(), layers, widths, keep,
        tokens.size(), hidden, penalty)) {
      for (int from = 0; from < order.length; from += batchSize) {
        List<Integer> members = Arrays.asList(order).subList(from, Math.min(order.length, from + batchSize));
        List<TokenizedText> batch = members.stream().map(tokens::get).toList();
        PaddedBatch out = encoder.runBatch(batch, deep);
        List<HiddenState> states = out.split();
        for (int k = 0; k < batch.size(); k++) {
          HiddenState s = states.get(k);
          fitter.add(members.get(k), s.features(), encoder.head(deep).apply(s, null));
        }
        listener.embedded(batch.size());
      }
      listener.fitting(layers, widths);
      long start = System.nanoTime();
      for (ExitAdapter a : fitter.finish()) {
        adapters.put(a.exitLayer(), a);
      }
      seconds = (System.nanoTime() - start) / 1e9;
    }
    listener.fitted(List.copyOf(adapters.values()), seconds);
    return new ExitAdapters(adapters);
  }
}
