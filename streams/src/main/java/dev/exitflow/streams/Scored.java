package dev.exitflow.streams;

import dev.exitflow.actors.EmbeddingResult;

/** One element leaving the inference flow: the caller's context and either the result or the error. */
public record Scored<C>(C context, EmbeddingResult result, Throwable error) {
  public boolean ok() {
    return error == null;
  }
}
