package dev.exitflow.loadtests;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A closed loop of HTTP POSTs from <a href="https://github.com/wg/wrk">wrk</a>, a C load generator
 * in its own process: about 0.03 CPU s per 1,000 requests against this project's Java client's
 * 0.87 at saturation (2026-12-04), so on a two-core machine a saturation run measures the server rather than the generator.
 * wrk runs under {@code bash -c '...; times'} so its own CPU time (the shell's children's) is read
 * as it exits.
 */
final class WrkLoop {
  /** Answers per second (2xx within the run), failures, the generator's CPU seconds, latency of all answers. */
  record Outcome(double perSecond, long failed, double generatorCpuSeconds, double p50Ms, double p99Ms) {}

  private WrkLoop() {}

  /** Whether {@code wrk} is on the PATH. */
  static boolean available() {
    try {
      Process p = new ProcessBuilder("wrk", "--version").redirectErrorStream(true).start();
      p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
      p.waitFor();
      return true;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** {@code connections} connections on one wrk thread POST {@code bodies} (cycled) to {@code base + path}. */
  static Outcome run(String base, String path, List<String> bodies, int connections, Duration duration)
      throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("exitflow-wrk");
    try {
      Path script = dir.resolve("post-bodies.lua");
      try (InputStream in = Objects.requireNonNull(WrkLoop.class.getResourceAsStream("/wrk/post-bodies.lua"))) {
        Files.copy(in, script);
      }
      Path bodyFile = Files.write(dir.resolve("bodies.txt"), bodies, StandardCharsets.UTF_8);
      // A long timeout: at saturation an answer may take seconds, and wrk would count it as an error at 2 s.
      String wrk = String.format("wrk -t1 -c%d -d%ds --timeout 60s -s '%s' '%s' -- '%s' '%s'; times", connections,
          duration.toSeconds(), script, base, bodyFile, path);
      Process p = new ProcessBuilder("bash", "-c", wrk).redirectErrorStream(true).start();
      List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
      if (p.waitFor() != 0 || lines.isEmpty()) {
        throw new IOException("wrk failed: " + String.join("\n", lines));
      }
      JsonNode summary = Harness.JSON.readTree(lines.stream().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
          .orElseThrow(() -> new IOException("no summary from wrk: " + String.join("\n", lines))));
      long failed = summary.path("status_errors").asLong() + summary.path("socket_errors").asLong();
      double seconds = summary.path("duration_us").asLong() / 1e6;
      double perSecond = (summary.path("requests").asLong() - summary.path("status_errors").asLong()) / seconds;
      return new Outcome(perSecond, failed, childrenCpuSeconds(lines.get(lines.size() - 1)),
          summary.path("p50_us").asLong() / 1000.0, summary.path("p99_us").asLong() / 1000.0);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
  }

  /** bash's {@code times}, second line: children's user and system time, e.g. {@code 0m0.140s 0m0.420s}. */
  static double childrenCpuSeconds(String timesLine) {
    double total = 0;
    for (String t : timesLine.trim().split("\\s+")) {
      int m = t.indexOf('m');
      total += Integer.parseInt(t.substring(0, m)) * 60 + Double.parseDouble(t.substring(m + 1, t.length() - 1));
    }
    return total;
  }
}
