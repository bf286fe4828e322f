package dev.exitflow.model;

import java.util.concurrent.CompletionException;

/** Helpers for failures that come back through futures. */
public final class Failures {
  private Failures() {}

  /**
   * The failure a {@link CompletionException} wraps (a stage composed on a failed future sees its
   * cause wrapped so); any other throwable, or a CompletionException without a cause, as it is.
   */
  public static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }
}
