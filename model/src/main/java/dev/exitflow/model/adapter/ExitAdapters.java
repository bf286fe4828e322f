package dev.exitflow.model.adapter;

import dev.exitflow.model.compile.CompiledModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The adapters of a compiled model, by exit layer. They live in {@code adapters/} inside the
 * compiled model's cache directory, whose key covers the model file and the exits, so adapters are
 * never applied to stages they were not fitted on.
 */
public record ExitAdapters(Map<Integer, ExitAdapter> byLayer) {
  public static final String DIRECTORY = "adapters";

  public ExitAdapters {
    byLayer = Collections.unmodifiableMap(new TreeMap<>(byLayer)); // in exit order, as save() returns files
  }

  public static ExitAdapters none() {
    return new ExitAdapters(Map.of());
  }

  public boolean isEmpty() {
    return byLayer.isEmpty();
  }

  /** The adapter of an exit, or null when it has none. */
  public ExitAdapter forLayer(int exitLayer) {
    return byLayer.get(exitLayer);
  }

  public static Path directory(CompiledModel compiled) {
    return compiled.directory().resolve(DIRECTORY);
  }

  /** The adapters saved for a compiled model; none when it was never calibrated. */
  public static ExitAdapters load(CompiledModel compiled, List<Integer> exitLayers) {
    Map<Integer, ExitAdapter> found = new LinkedHashMap<>();
    Path dir = directory(compiled);
    for (int layer : exitLayers) {
      Path file = dir.resolve(AdapterFile.name(layer));
      if (Files.isRegularFile(file)) {
        ExitAdapter a = AdapterFile.read(file);
        if (a.exitLayer() != layer || a.hiddenSize() != compiled.hiddenSize()) {
          throw new AdapterFormatException(file + " was fitted for exit " + a.exitLayer() + " of width "
              + a.hiddenSize() + ", not exit " + layer + " of width " + compiled.hiddenSize());
        }
        found.put(layer, a);
      }
    }
    return new ExitAdapters(found);
  }

  /** Writes every adapter into the compiled model's adapter directory; returns the files in exit order. */
  public List<Path> save(CompiledModel compiled) {
    Path dir = directory(compiled);
    try {
      Files.deleteIfExists(dir.resolve("spearman.json")); // eval's figures were for the adapters replaced here
    } catch (java.io.IOException e) {
      throw new AdapterFormatException("cannot remove the stale " + dir.resolve("spearman.json"), e);
    }
    return byLayer.values().stream().map(a -> {
      Path file = dir.resolve(AdapterFile.name(a.exitLayer()));
      AdapterFile.write(a, file);
      return file;
    }).toList();
  }
}
