package dev.exitflow.model.runtime;

/**
 * A sentence embedding produced at {@code exitLayer}, from {@code tokens} tokens (including the
 * special ones); {@code truncated} when the text was longer than the model's maximum.
 */
public record Embedding(float[] vector, int exitLayer, int tokens, boolean truncated) {}
