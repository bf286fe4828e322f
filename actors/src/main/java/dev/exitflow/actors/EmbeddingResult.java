package dev.exitflow.actors;

/**
 * The answer to one request: the embedding, the exit layer it left at and why, tokens processed
 * (truncated when the text was longer than the model allows), and where its time went: waiting in
 * stage queues and computing in stage batches.
 */
public record EmbeddingResult(
    float[] embedding,
    int exitLayer,
    ExitReason reason,
    int tokens,
    boolean truncated,
    double queueMs,
    double computeMs) {}
