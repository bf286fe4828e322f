package dev.exitflow.model.runtime;

/** Small vector arithmetic on embeddings. */
public final class Vectors {
  private Vectors() {}

  /** Cosine similarity of two vectors of the same length (0 when either is all zeros). */
  public static double cosine(float[] a, float[] b) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(Math.max(na * nb, 1e-24));
  }
}
