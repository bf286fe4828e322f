package dev.exitflow.model.calibrate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The per-layer sparsity table of {@link NeuronActivity}, measured per sentence: how many neurons
 * hold 90/95/99% of the |activation| mass (of the corpus as a whole, of a sentence, of a token),
 * how stable a sentence's top quarter of neurons is, and how much of a sentence's mass a fixed set
 * of the corpus' top half keeps against the sentence's own top half (what a per-input choice could
 * add over a static one).
 */
public final class NeuronSparsity {
  /**
   * One layer (counting from 1). Shares are of the layer's neurons, by mass 90/95/99%.
   * {@code topQuarterInStatic}: mean share of a sentence's top quarter that lies in the corpus' top
   * quarter; {@code topQuarterJaccard}: mean Jaccard overlap of two sentences' top quarters (each with
   * the next in corpus order); {@code staticHalfMass} / {@code ownHalfMass}: mean share of a
   * sentence's mass that the corpus' top half / the sentence's own top half holds.
   */
  public record Row(int layer, int neurons, double[] corpusShare, double[] sentenceShare, double[] tokenShare,
      double topQuarterInStatic, double topQuarterJaccard, double staticHalfMass, double ownHalfMass) {}

  private NeuronSparsity() {}

  public static List<Row> of(NeuronActivity a) {
    List<Row> rows = new ArrayList<>();
    int width = a.width();
    int quarter = width / 4;
    int half = width / 2;
    for (int layer = 1; layer <= a.layers(); layer++) {
      double[] mean = a.meanMagnitude(layer);
      float[] corpus = new float[width];
      for (int n = 0; n < width; n++) {
        corpus[n] = (float) mean[n];
      }
      float[] ascending = corpus.clone();
      Arrays.sort(ascending);
      int[] ranking = a.ranking(layer);
      BitSet staticQuarter = top(ranking, quarter);
      BitSet staticHalf = top(ranking, half);
      float[][] sentences = a.perSentence(layer);
      double[] sentenceShare = new double[NeuronActivity.MASSES.length];
      double inStatic = 0;
      double jaccard = 0;
      double staticMass = 0;
      double ownMass = 0;
      BitSet previous = null;
      for (float[] s : sentences) {
        float[] sorted = s.clone();
        Arrays.sort(sorted);
        double[] shares = NeuronActivity.sharesFor(sorted);
        for (int m = 0; m < shares.length; m++) {
          sentenceShare[m] += shares[m] / sentences.length;
        }
        int[] own = rank(s);
        BitSet ownQuarter = top(own, quarter);
        BitSet both = (BitSet) ownQuarter.clone();
        both.and(staticQuarter);
        inStatic += (double) both.cardinality() / quarter / sentences.length;
        if (previous != null) {
          BitSet and = (BitSet) ownQuarter.clone();
          and.and(previous);
          BitSet or = (BitSet) ownQuarter.clone();
          or.or(previous);
          jaccard += (double) and.cardinality() / or.cardinality() / (sentences.length - 1);
        }
        previous = ownQuarter;
        double total = 0;
        double inStaticHalf = 0;
        for (int n = 0; n < width; n++) {
          total += s[n];
          if (staticHalf.get(n)) {
            inStaticHalf += s[n];
          }
        }
        double inOwnHalf = 0;
        for (int i = 0; i < half; i++) {
          inOwnHalf += s[own[i]];
        }
        staticMass += inStaticHalf / total / sentences.length;
        ownMass += inOwnHalf / total / sentences.length;
      }
      rows.add(new Row(layer, width, NeuronActivity.sharesFor(ascending), sentenceShare, a.tokenShares(layer),
          inStatic, jaccard, staticMass, ownMass));
    }
    return rows;
  }

  private static BitSet top(int[] ranking, int k) {
    BitSet b = new BitSet();
    for (int i = 0; i < k; i++) {
      b.set(ranking[i]);
    }
    return b;
  }

  /** Indices by descending value. */
  private static int[] rank(float[] v) {
    return java.util.stream.IntStream.range(0, v.length).boxed()
        .sorted((x, y) -> Float.compare(v[y], v[x])).mapToInt(Integer::intValue).toArray();
  }
}
