package dev.exitflow.research;

import dev.exitflow.model.runtime.Vectors;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * How closely embeddings of a changed engine (pruned, say) follow the reference embeddings of the
 * same texts: fidelity (cosine of each text's two embeddings; mean and 5th percentile) and
 * retrieval agreement (the share of each text's {@code k} nearest neighbours among the other texts
 * that both sets of embeddings agree on, averaged over texts).
 */
record Agreement(double meanCosine, double p5Cosine, double neighbourOverlap, int k) {

  static Agreement of(List<float[]> reference, List<float[]> changed, int k) {
    int n = reference.size();
    double[] cos = new double[n];
    for (int i = 0; i < n; i++) {
      cos[i] = Vectors.cosine(reference.get(i), changed.get(i));
    }
    double mean = Arrays.stream(cos).average().orElse(Double.NaN);
    double[] sorted = cos.clone();
    Arrays.sort(sorted);
    double p5 = n == 0 ? Double.NaN : sorted[(int) Math.floor(0.05 * (n - 1))];
    int kk = Math.min(k, n - 1);
    double overlap = 0;
    for (int i = 0; i < n; i++) {
      int[] a = nearest(reference, i, kk);
      int[] b = nearest(changed, i, kk);
      overlap += (double) IntStream.of(a).filter(x -> IntStream.of(b).anyMatch(y -> y == x)).count() / kk;
    }
    return new Agreement(mean, p5, kk > 0 ? overlap / n : Double.NaN, kk);
  }

  /** The {@code k} texts most cosine-similar to text {@code i}, itself left out (ties: lower index). */
  static int[] nearest(List<float[]> vectors, int i, int k) {
    double[] sim = new double[vectors.size()];
    for (int j = 0; j < sim.length; j++) {
      sim[j] = Vectors.cosine(vectors.get(i), vectors.get(j));
    }
    return IntStream.range(0, sim.length).filter(j -> j != i).boxed()
        .sorted(Comparator.comparingDouble((Integer j) -> -sim[j]).thenComparingInt(j -> j))
        .limit(k).mapToInt(Integer::intValue).toArray();
  }
}
