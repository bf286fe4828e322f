package dev.exitflow.model.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the STS Benchmark files, which live beside the checkout in {@code ../shared/data/stsbenchmark}
 * rather than in it. Looked up from the working directory and the launcher's directory
 * ({@code exitflow.home}) upwards, so it works from the root, from a module, and in CI.
 */
public final class StsFiles {
  static final String RELATIVE = "shared/data/stsbenchmark";

  private StsFiles() {}

  /** A file given by path if it exists, else the named STS-B file found next to the checkout. */
  public static Path locate(String file) {
    Path direct = Path.of(file);
    if (Files.isRegularFile(direct)) {
      return direct;
    }
    List<Path> starts = new ArrayList<>();
    starts.add(Path.of("").toAbsolutePath());
    String home = System.getProperty("exitflow.home");
    if (home != null) {
      starts.add(Path.of(home).toAbsolutePath());
    }
    for (Path start : starts) {
      for (Path d = start; d != null; d = d.getParent()) {
        Path candidate = d.resolve(RELATIVE).resolve(direct.getFileName());
        if (Files.isRegularFile(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalArgumentException(
        "dataset " + file + " not found, neither as a path nor in a " + RELATIVE + " folder above " + starts);
  }
}
