package dev.exitflow.loadtests;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A JVM process's CPU time (user + system, from /proc through {@link ProcessHandle}) and an
 * estimate of the bytes it has allocated (from {@code jstat -gc}: eden used now plus a full eden
 * per young collection since the first sample, so about ±1 eden over a window; G1 sizes eden
 * itself, hence "about").
 */
record ProcessUsage(Duration cpu, double jitCpuSeconds, long youngCollections, double edenCapacityMb, double edenUsedMb) {
  static ProcessUsage of(ProcessHandle process) {
    Duration cpu = process.info().totalCpuDuration().orElse(Duration.ZERO);
    double[] gc = jstat(process.pid());
    return new ProcessUsage(cpu, jitCpuSeconds(process.pid()), (long) gc[0], gc[1], gc[2]);
  }

  /** CPU seconds and MB allocated between {@code before} and this. */
  double cpuSecondsSince(ProcessUsage before) {
    return (cpu.toNanos() - before.cpu.toNanos()) / 1e9;
  }

  /** CPU seconds the JIT compiler threads spent between {@code before} and this: a server still warming up. */
  double jitCpuSecondsSince(ProcessUsage before) {
    return jitCpuSeconds - before.jitCpuSeconds;
  }

  /**
   * CPU seconds of the process's compiler threads alive now, from /proc/PID/task/TID/stat (utime
   * and stime in clock ticks of 1/100 s); a compiler thread that ended takes its time with it.
   */
  private static double jitCpuSeconds(long pid) {
    double ticks = 0;
    try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/" + pid + "/task"))) {
      for (java.nio.file.Path task : tasks.toList()) {
        try {
          String stat = java.nio.file.Files.readString(task.resolve("stat"));
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
          }
        } catch (java.io.IOException | RuntimeException gone) {
          // the thread ended meanwhile
        }
      }
    } catch (java.io.IOException e) {
      return Double.NaN;
    }
    return ticks / 100;
  }

  double allocatedMbSince(ProcessUsage before) {
    return (youngCollections - before.youngCollections) * (edenCapacityMb + before.edenCapacityMb) / 2
        + edenUsedMb - before.edenUsedMb;
  }

  /** {young collections, eden capacity MB, eden used MB}; NaNs when jstat cannot read the process. */
  private static double[] jstat(long pid) {
    try {
      Process jstat = new ProcessBuilder("jstat", "-gc", String.valueOf(pid)).redirectErrorStream(true).start();
      List<String> lines;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(jstat.getInputStream(), StandardCharsets.UTF_8))) {
        lines = r.lines().toList();
      }
      jstat.waitFor();
      if (lines.size() < 2) {
        return new double[] {Double.NaN, Double.NaN, Double.NaN};
      }
      List<String> names = Arrays.asList(lines.get(0).trim().split("\\s+"));
      String[] values = lines.get(1).trim().split("\\s+");
      double edenCapacityKb = Double.parseDouble(values[names.indexOf("EC")]);
      double edenUsedKb = Double.parseDouble(values[names.indexOf("EU")]);
      long youngCollections = Long.parseLong(values[names.indexOf("YGC")]);
      return new double[] {youngCollections, edenCapacityKb / 1024, edenUsedKb / 1024};
    } catch (Exception e) {
      return new double[] {Double.NaN, Double.NaN, Double.NaN};
    }
  }
}
