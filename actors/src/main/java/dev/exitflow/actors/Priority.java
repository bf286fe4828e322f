package dev.exitflow.actors;

import dev.exitflow.model.InvalidInputException;
import java.util.Locale;

/** Interactive traffic keeps its depth longer than bulk traffic when the runtime is loaded. */
public enum Priority {
  INTERACTIVE,
  BULK;

  public static Priority parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new InvalidInputException("unknown_priority", "priority '" + text + "' is not interactive or bulk");
    }
  }
}
