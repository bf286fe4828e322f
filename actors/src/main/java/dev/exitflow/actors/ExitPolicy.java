package dev.exitflow.actors;

import dev.exitflow.model.InvalidInputException;
import java.util.Locale;

/**
 * Which exit a request wants. {@code shallow}, {@code deep} and an exact layer are promises: the
 * request reaches that exit or fails, it is never cut short. {@code auto} lets the runtime choose
 * as deep as the request's deadline and the current load allow.
 */
public sealed interface ExitPolicy {
  enum Shallow implements ExitPolicy { INSTANCE }

  enum Deep implements ExitPolicy { INSTANCE }

  enum Auto implements ExitPolicy { INSTANCE }

  /** Exactly the exit after this layer (counting from 1); must be one of the model's exits. */
  record Exact(int layer) implements ExitPolicy {}

  /** Parses {@code shallow}, {@code deep}, {@code auto} or a layer number. */
  static ExitPolicy parse(String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    switch (t) {
      case "shallow":
        return Shallow.INSTANCE;
      case "deep":
        return Deep.INSTANCE;
      case "auto":
        return Auto.INSTANCE;
      default:
        try {
          return new Exact(Integer.parseInt(t));
        } catch (NumberFormatException e) {
          throw new InvalidInputException(
              "unknown_exit", "exit '" + text + "' is not shallow, deep, auto or a layer number");
        }
    }
  }
}
