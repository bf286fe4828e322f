package dev.exitflow.research;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident set size (VmHWM in /proc/self/status), which Linux lets a process
 * reset to its current RSS by writing 5 to /proc/self/clear_refs: so a benchmark can report the
 * peak of each pass on its own. Elsewhere both calls report nothing.
 */
final class PeakRss {
  private PeakRss() {}

  /** Starts a new peak from the current RSS; false where the kernel does not offer it. */
  static boolean reset() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The peak RSS since the last reset (or the process's start) in MiB, or -1 where unknown. */
  static long mib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: unknown
    }
    return -1;
  }
}
