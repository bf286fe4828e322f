package dev.exitflow.model.runtime;

import dev.exitflow.model.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The exits of a staged model and the names a caller may use for them: a layer number that is an
 * exit, {@code shallow} (the first exit) or {@code deep} (the last, the unmodified model's output).
 */
public record ExitPoints(List<Integer> layers) {
  public ExitPoints {
    layers = List.copyOf(layers);
  }

  public int shallow() {
    return layers.get(0);
  }

  public int deep() {
    return layers.get(layers.size() - 1);
  }

  /** Index of the stage after which the named exit is taken (0-based). */
  public int stageOf(String exit) {
    String e = exit.trim().toLowerCase(Locale.ROOT);
    if (e.equals("shallow")) {
      return 0;
    }
    if (e.equals("deep")) {
      return layers.size() - 1;
    }
    try {
      int i = layers.indexOf(Integer.parseInt(e));
      if (i >= 0) {
        return i;
      }
    } catch (NumberFormatException ignored) {
      // falls through to the error naming the valid choices
    }
    throw InvalidInputException.unknownExit(exit, names());
  }

  public List<String> names() {
    List<String> names = new ArrayList<>();
    layers.forEach(l -> names.add(String.valueOf(l)));
    names.add("shallow");
    names.add("deep");
    return names;
  }
}
