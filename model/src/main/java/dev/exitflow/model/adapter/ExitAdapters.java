package dev.exitflow.model.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.exitflow.model.compile.AdapterKey;
import dev.exitflow.model.compile.CompiledModel;
import java.io.IOException;
import java.nio.file.StandardCopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The adapters of a compiled model, by exit layer. They live in {@code adapters-<key>/} inside the
 * compiled model's cache directory, whose key covers the model file, exits and drops; the
 * directory's own key ({@link AdapterKey}: pooling, token types, tokenizer, length, precision)
 * covers the rest of the descriptor, so adapters are never applied to stages or targets they were
 * not fitted on. {@code key.json} and {@code fit.json} beside them say what they were fitted for
 * and how.
 */
public record ExitAdapters(Map<Integer, ExitAdapter> byLayer, Set<Integer> notFaster) {
  public static final String DIRECTORY = "adapters";

  /**
   * {@code notFaster}: exits whose adapter calibrate timed no faster than the next exit (from
   * {@code fit.json}); they keep their adapter for requests that name them, but {@code auto}
   * gains nothing by leaving there.
   */
  public ExitAdapters {
    byLayer = Collections.unmodifiableMap(new TreeMap<>(byLayer)); // in exit order, as save() returns files
    notFaster = Set.copyOf(notFaster);
  }

  public ExitAdapters(Map<Integer, ExitAdapter> byLayer) {
    this(byLayer, Set.of());
  }

  /** Whether calibrate timed this exit's adapter no faster than the next exit. */
  public boolean notFaster(int exitLayer) {
    return notFaster.contains(exitLayer);
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

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String KEY_FILE = "key.json";
  private static final String FIT_FILE = "fit.json";

  public static Path directory(CompiledModel compiled) {
    AdapterKey key = compiled.adapterKey();
    return compiled.directory().resolve(key == null ? DIRECTORY : DIRECTORY + "-" + key.hash());
  }

  /** How the saved adapters were fitted; null when they were saved without it (or there are none). */
  public static AdapterFit fit(CompiledModel compiled) {
    Path file = directory(compiled).resolve(FIT_FILE);
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try {
      return JSON.readValue(file.toFile(), AdapterFit.class);
    } catch (IOException e) {
      throw new AdapterFormatException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Writes how the saved adapters were fitted (e.g. again, with their measured speed). */
  public static void saveFit(CompiledModel compiled, AdapterFit fit) {
    write(directory(compiled).resolve(FIT_FILE), fit);
  }

  /**
   * Adapters saved beside the same stages for another descriptor (another pooling, say), each as
   * what differs: they are not used, and a message should say why.
   */
  public static List<String> fittedOtherwise(CompiledModel compiled) {
    AdapterKey now = compiled.adapterKey();
    List<String> out = new java.util.ArrayList<>();
    if (now == null || !Files.isDirectory(compiled.directory())) {
      return out;
    }
    try (var dirs = Files.list(compiled.directory())) {
      for (Path dir : dirs.filter(d -> d.getFileName().toString().startsWith(DIRECTORY)).sorted().toList()) {
        Path keyFile = dir.resolve(KEY_FILE);
        if (!dir.equals(directory(compiled)) && Files.isRegularFile(keyFile)) {
          out.add(String.join(", ", JSON.readValue(keyFile.toFile(), AdapterKey.class).differences(now)));
        } else if (dir.getFileName().toString().equals(DIRECTORY)) {
          out.add("an earlier version of Exitflow that did not key adapters by pooling, token types and tokenizer");
        }
      }
    } catch (IOException e) {
      throw new AdapterFormatException("cannot list " + compiled.directory() + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static void write(Path file, Object value) {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".part");
      JSON.writeValue(tmp.toFile(), value);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new AdapterFormatException("cannot write " + file + ": " + e.getMessage(), e);
    }
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
    AdapterFit fit = found.isEmpty() ? null : fit(compiled);
    return new ExitAdapters(found, fit == null ? Set.of()
        : found.keySet().stream().filter(fit::notFaster).collect(java.util.stream.Collectors.toSet()));
  }

  /** Writes every adapter into the compiled model's adapter directory; returns the files in exit order. */
  public List<Path> save(CompiledModel compiled) {
    return save(compiled, null);
  }

  /** As {@link #save(CompiledModel)}, with how they were fitted ({@code fit.json}) when {@code fit} is given. */
  public List<Path> save(CompiledModel compiled, AdapterFit fit) {
    Path dir = directory(compiled);
    try {
      Files.deleteIfExists(dir.resolve("spearman.json")); // eval's figures were for the adapters replaced here
      Files.deleteIfExists(dir.resolve(FIT_FILE));
    } catch (java.io.IOException e) {
      throw new AdapterFormatException("cannot remove the stale files of " + dir, e);
    }
    if (compiled.adapterKey() != null) {
      write(dir.resolve(KEY_FILE), compiled.adapterKey());
    }
    if (fit != null) {
      write(dir.resolve(FIT_FILE), fit);
    }
    return byLayer.values().stream().map(a -> {
      Path file = dir.resolve(AdapterFile.name(a.exitLayer()));
      AdapterFile.write(a, file);
      return file;
    }).toList();
  }
}
