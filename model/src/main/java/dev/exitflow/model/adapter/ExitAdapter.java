package dev.exitflow.model.adapter;

import static dev.exitflow.model.runtime.Vectors.cosine;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An affine map from an exit's pooled layer features to (an imitation of) the deep exit's
 * normalised embedding: {@code y = bias + (features - inputMean) x weights}, with the fit's input
 * scaling folded into {@code weights}. The mean is subtracted first rather than folded into the
 * bias: some hidden dimensions sit far from zero with little spread, and a folded bias cancels
 * against large products, losing about 2% of the vector to float rounding. The exit head normalises and truncates
 * {@code y} as it does the plain pooled state.
 *
 * <p>Ridge fits every output dimension on its own, so the first d outputs are exactly the fit for
 * the first d target dimensions: Matryoshka truncation of the adapted embedding is as good as a
 * fit made for that size.
 *
 * @param weights row-major [features, hiddenSize]
 * @param corpusSentences sentences of the corpus it was fitted on
 * @param fidelity mean cosine between the adapted and the deep embedding on held-out corpus
 *     sentences (every {@value #HOLD_OUT}th, not fitted on); NaN when unknown (older files)
 */
public record ExitAdapter(
    String model, int exitLayer, int features, int hiddenSize, double penalty, int corpusSentences, double fidelity,
    float[] inputMean, float[] weights, float[] bias) {

  public ExitAdapter {
    if (inputMean.length != features || weights.length != (long) features * hiddenSize || bias.length != hiddenSize) {
      throw new AdapterFormatException(
          "adapter for exit " + exitLayer + " has " + weights.length + " weights and " + bias.length
              + " biases, not " + features + " x " + hiddenSize + " and " + hiddenSize);
    }
  }

  /**
   * Fits one adapter per exit by ridge regression from the first {@code widths[i]} floats of each
   * row of {@code x} (the features available at exit {@code exitLayers[i]}; nested, ascending) to
   * the rows of {@code targets} (deep embeddings, unit length). Every {@value #HOLD_OUT}th row is
   * held out of the fit and measures its {@code fidelity}.
   */
  public static List<ExitAdapter> fit(String model, List<Integer> exitLayers, List<Integer> widths, float[][] x,
      float[][] targets, double penalty) {
    List<float[]> fitX = new ArrayList<>();
    List<float[]> fitY = new ArrayList<>();
    List<Integer> heldOut = new ArrayList<>();
    for (int i = 0; i < x.length; i++) {
      if (x.length >= 2 * HOLD_OUT && i % HOLD_OUT == HOLD_OUT - 1) {
        heldOut.add(i);
      } else {
        fitX.add(x[i]);
        fitY.add(targets[i]);
      }
    }
    List<RidgeFit.Solution> solutions =
        RidgeFit.fit(fitX.toArray(float[][]::new), widths, fitY.toArray(float[][]::new), penalty);
    List<ExitAdapter> adapters = new ArrayList<>();
    int hidden = targets[0].length;
    for (int e = 0; e < exitLayers.size(); e++) {
      int features = widths.get(e);
      RidgeFit.Solution s = solutions.get(e);
      ExitAdapter a = new ExitAdapter(
          model, exitLayers.get(e), features, hidden, penalty, fitX.size(), Double.NaN, s.mean(), s.weights(), s.bias());
      double fidelity = Double.NaN;
      if (!heldOut.isEmpty()) {
        double sum = 0;
        for (int row : heldOut) {
          sum += cosine(a.apply(Arrays.copyOf(x[row], features)), targets[row]);
        }
        fidelity = sum / heldOut.size();
      }
      adapters.add(new ExitAdapter(
          model, exitLayers.get(e), features, hidden, penalty, fitX.size(), fidelity, s.mean(), s.weights(), s.bias()));
    }
    return adapters;
  }

  /** One corpus sentence in this many is held out of the fit to measure fidelity (corpora of 40 or more). */
  public static final int HOLD_OUT = 20;

  /** The unnormalised adapted embedding of one text's features. */
  public float[] apply(float[] x) {
    return applyAll(new float[][] {x})[0];
  }

  /**
   * The unnormalised adapted embeddings of a batch. Weight rows are the outer loop so each row is
   * read once per batch: the weights (several MB) do not fit in cache, and streaming them once per
   * text made the adapter cost as much as the layers it saves.
   */
  public float[][] applyAll(float[][] xs) {
    float[][] ys = new float[xs.length][];
    for (int b = 0; b < xs.length; b++) {
      float[] x = xs[b];
      if (x == null || x.length != features) {
        throw new IllegalStateException("adapter for exit " + exitLayer + " needs " + features + " features, got "
            + (x == null ? "none (the stages were opened without feature collection)" : x.length));
      }
      ys[b] = bias.clone();
    }
    for (int i = 0; i < features; i++) {
      int row = i * hiddenSize;
      for (int b = 0; b < xs.length; b++) {
        float xi = xs[b][i] - inputMean[i];
        float[] y = ys[b];
        for (int d = 0; d < hiddenSize; d++) {
          y[d] += xi * weights[row + d];
        }
      }
    }
    return ys;
  }

  /** What eval reports as the adapter used at an exit. */
  public Summary summary() {
    return new Summary("ridge", features, penalty, corpusSentences, fidelity);
  }

  public record Summary(String kind, int features, double penalty, int corpusSentences, double fidelity) {}
}
