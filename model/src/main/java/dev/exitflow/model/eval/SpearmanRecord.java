package dev.exitflow.model.eval;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.compile.CompiledModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * The STS Spearman (x100) that {@code eval} measured of each exit of a compiled model with its
 * saved adapters, per dataset file name: {@code spearman.json} beside the adapters, so the server
 * can show it. Saving new adapters deletes it ({@link ExitAdapters#save}), as it no longer holds.
 */
public final class SpearmanRecord {
  public static final String FILE = "spearman.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<TreeMap<Integer, TreeMap<String, Double>>> TYPE = new TypeReference<>() {};

  private SpearmanRecord() {}

  /** Exit layer -> dataset -> Spearman x100; empty when nothing was recorded. */
  public static Map<Integer, Map<String, Double>> read(CompiledModel compiled) {
    Path file = ExitAdapters.directory(compiled).resolve(FILE);
    if (!Files.isRegularFile(file)) {
      return Map.of();
    }
    try {
      return new TreeMap<>(JSON.readValue(file.toFile(), TYPE));
    } catch (IOException e) {
      return Map.of(); // a damaged record only hides figures; eval writes it again
    }
  }

  /** Adds (or replaces) the figures of {@code report}'s dataset. */
  public static void record(CompiledModel compiled, StsReport report) {
    Path file = ExitAdapters.directory(compiled).resolve(FILE);
    TreeMap<Integer, TreeMap<String, Double>> all = new TreeMap<>();
    read(compiled).forEach((layer, byData) -> all.put(layer, new TreeMap<>(byData)));
    String dataset = Path.of(report.dataset()).getFileName().toString();
    for (StsReport.Exit e : report.exits()) {
      all.computeIfAbsent(e.layer(), l -> new TreeMap<>()).put(dataset, Math.round(e.spearman() * 10000) / 100.0);
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), FILE, ".part");
      JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), all);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
