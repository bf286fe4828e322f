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
    try (Fitter fitter = new Fitter(model, exitLayers, widths, null, x.length, targets[0].length, penalty)) {
      for (int i = 0; i < x.length; i++) {
        fitter.add(i, x[i], targets[i]);
      }
      return fitter.finish();
    }
  }

  /**
   * {@link #fit} with the rows streamed in, in any order: they go into the ridge system as they
   * come ({@link RidgeFit.Accumulator}) and only the held-out rows are kept, so a corpus' layer
   * features are never all in memory at once. Small corpora (fewer rows than features, and fewer
   * than {@value #DUAL_LIMIT}) are kept whole and fitted in the dual form.
   */
  public static final class Fitter implements AutoCloseable {
    /**
     * Below this many rows, and fewer rows than features, the rows are kept and fitted in the dual
     * form (tests, tiny corpora). Above it the primal system is streamed even with fewer rows than
     * features (a 12-layer model's exit 8 reads 10,368 features; STS-B's training sentences are
     * 10,038 rows): the penalty keeps it well conditioned, and the dual form would hold every row
     * and factor an n x n kernel in EJML, which took over 6 minutes and 3.8 GB.
     */
    static final int DUAL_LIMIT = 4096;
    private final String model;
    private final List<Integer> exitLayers;
    private final List<Integer> widths;
    private final int[] keep;
    private final List<Integer> counts;
    private final int corpus;
    private final int out;
    private final double penalty;
    private final RidgeFit.Accumulator accumulator;
    private final List<float[]> keptX = new ArrayList<>();
    private final List<float[]> keptY = new ArrayList<>();
    private final List<float[]> heldX = new ArrayList<>();
    private final List<float[]> heldY = new ArrayList<>();
    private int fitted;

    /**
     * {@code keep}: the ascending indices of the features the fit reads (null: all); the others
     * get weight 0 (and mean 0) in the adapters, which then leave them out of their product. A
     * feature known to be constant (zeroed) is better left out here: it costs the Gram matrix a
     * row and a column. {@code corpus}: how many rows {@link #add} will be given.
     */
    public Fitter(String model, List<Integer> exitLayers, List<Integer> widths, int[] keep, int corpus, int out,
        double penalty) {
      this.model = model;
      this.exitLayers = List.copyOf(exitLayers);
      this.widths = List.copyOf(widths);
      int full = widths.get(widths.size() - 1);
      this.keep = keep == null ? null : Arrays.stream(keep).filter(j -> j < full).toArray();
      this.counts = widths.stream().map(w -> this.keep == null ? w : (int) Arrays.stream(this.keep).filter(j -> j < w).count())
          .toList();
      this.corpus = corpus;
      this.out = out;
      this.penalty = penalty;
      int features = counts.get(counts.size() - 1);
      int rows = corpus - heldOut(corpus);
      accumulator = rows >= features || rows >= DUAL_LIMIT ? new RidgeFit.Accumulator(features, out) : null;
    }

    private static int heldOut(int corpus) {
      return corpus >= 2 * HOLD_OUT ? corpus / HOLD_OUT : 0;
    }

    /** Row {@code index} (its position in the corpus, which decides whether it is held out). */
    public void add(int index, float[] x, float[] target) {
      if (corpus >= 2 * HOLD_OUT && index % HOLD_OUT == HOLD_OUT - 1) {
        heldX.add(Arrays.copyOf(x, widths.get(widths.size() - 1)));
        heldY.add(target.clone());
        return;
      }
      fitted++;
      if (accumulator != null) {
        accumulator.add(x, keep, target);
      } else {
        keptX.add(compact(x));
        keptY.add(target.clone());
      }
    }

    private float[] compact(float[] x) {
      int features = counts.get(counts.size() - 1);
      float[] c = new float[features];
      for (int j = 0; j < features; j++) {
        c[j] = x[keep == null ? j : keep[j]];
      }
      return c;
    }

    /** The adapters, one per exit, each with its fidelity on the held-out rows. */
    public List<ExitAdapter> finish() {
      List<RidgeFit.Solution> solutions = accumulator != null ? accumulator.solve(counts, penalty)
          : RidgeFit.fit(keptX.toArray(float[][]::new), counts, keptY.toArray(float[][]::new), penalty);
      List<ExitAdapter> adapters = new ArrayList<>();
      for (int e = 0; e < exitLayers.size(); e++) {
        int features = widths.get(e);
        RidgeFit.Solution s = solutions.get(e);
        float[] mean = new float[features];
        float[] weights = new float[features * out];
        for (int c = 0; c < counts.get(e); c++) {
          int j = keep == null ? c : keep[c];
          mean[j] = s.mean()[c];
          System.arraycopy(s.weights(), c * out, weights, j * out, out);
        }
        ExitAdapter a = new ExitAdapter(
            model, exitLayers.get(e), features, out, penalty, fitted, Double.NaN, mean, weights, s.bias());
        double fidelity = Double.NaN;
        if (!heldX.isEmpty()) {
          double sum = 0;
          for (int row = 0; row < heldX.size(); row++) {
            sum += cosine(a.apply(Arrays.copyOf(heldX.get(row), features)), heldY.get(row));
          }
          fidelity = sum / heldX.size();
        }
        adapters.add(new ExitAdapter(
            model, exitLayers.get(e), features, out, penalty, fitted, fidelity, mean, weights, s.bias()));
      }
      return adapters;
    }

    @Override
    public void close() {
      if (accumulator != null) {
        accumulator.close();
      }
    }
  }

  /** Rows below which a corpus with fewer rows than features is fitted in the dual form ({@link Fitter}). */
  public static final int DUAL_LIMIT = Fitter.DUAL_LIMIT;

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
