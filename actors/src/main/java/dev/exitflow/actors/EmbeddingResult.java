package dev.exitflow.actors;

/**
 * The answer to one request: the embedding, the exit layer it left at and why, tokens processed
 * (truncated when the text was longer than the model allows), and where its time went: waiting in
 * stage queues and computing in stage batches. {@code fidelity} is what calibration measured of
 * that exit (held-out mean cosine to the deep embedding; 1 at the deep exit; NaN when unknown, e.g.
 * an exit without adapter). {@code chunks} is how many windows a text past the model's maximum was
 * embedded in and pooled from (streams' chunk mode); 0 when it was not chunked but truncated.
 */
public record EmbeddingResult(
    float[] embedding,
    int exitLayer,
    ExitReason reason,
    int tokens,
    boolean truncated,
    double queueMs,
    double computeMs,
    double fidelity,
    int chunks) {
  /** A result of the runtime itself: one text, not chunked. */
  public EmbeddingResult(float[] embedding, int exitLayer, ExitReason reason, int tokens, boolean truncated,
      double queueMs, double computeMs, double fidelity) {
    this(embedding, exitLayer, reason, tokens, truncated, queueMs, computeMs, fidelity, 0);
  }
}
