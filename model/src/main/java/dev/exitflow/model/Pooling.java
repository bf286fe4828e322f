package dev.exitflow.model;

import java.util.Locale;

/** How token states become one sentence vector at an exit. */
public enum Pooling {
  /** Average of the live (unpadded) tokens' states. */
  MEAN,
  /** The first token's state ([CLS]). */
  CLS;

  public static Pooling parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException("bad_descriptor", "pooling '" + name + "' is not 'mean' or 'cls'");
    }
  }
}
