package dev.exitflow.loadtests;

import dev.exitflow.loadtests.OverheadServers.HttpRoute;
import dev.exitflow.loadtests.OverheadServers.Slot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code load-tests/run overhead --saturation}: answers per second of each transport in a closed
 * loop against the runtime in-process, with the CPU per 1,000 answers of the server, the generator
 * and the broker (see {@link #run}). The open-loop mode is {@link OverheadCommand}'s own.
 */
final class OverheadSaturation {
  private final String model;
  private final List<String> exits;
  private final List<String> transports;
  private final int seconds;
  private final int warmUpSeconds;
  private final int concurrency;
  private final String generator;

  OverheadSaturation(String model, List<String> exits, List<String> transports, int seconds, int warmUpSeconds,
      int concurrency, String generator) {
    this.model = model;
    this.exits = exits;
    this.transports = transports;
    this.seconds = seconds;
    this.warmUpSeconds = warmUpSeconds;
    this.concurrency = concurrency;
    this.generator = generator;
  }

  /**
   * A saturation row: answers/s, its ratio to in-process at the same exit, and the CPU seconds per
   * 1,000 answers of the server, of the generator (0 for in-process, where it is the server's
   * process) and of the broker.
   */
  record Saturated(String exit, String transport, String generator, double perS, double ratio, long failed,
      double serverCpuSPer1000, double generatorCpuSPer1000, double brokerCpuSPer1000, double p50Ms, double p99Ms) {

    /** This row with another ratio. */
    Saturated withRatio(double ratio) {
      return new Saturated(exit, transport, generator, perS, ratio, failed, serverCpuSPer1000, generatorCpuSPer1000,
          brokerCpuSPer1000, p50Ms, p99Ms);
    }
  }

  /**
   * Throughput by transport with the generator, the server and the broker in their own processes:
   * a closed loop of {@code concurrency} outstanding requests per transport against the runtime
   * in-process (where the generator shares the process, as in load-tests/run saturation), measured
   * before the transports and again after them, each ratio to the mean of the two (the machine's
   * speed drifts over the run). The in-process runtime is stopped before any server starts; then each
   * transport against {@code exitflow serve}, then Kafka against a broker and a serve with the
   * pipeline on, started only once the HTTP transports' server has stopped. The HTTP rows' requests
   * come from wrk when {@code --generator} allows, so on two cores the generator takes little of
   * the server's CPU; each row reports the generator's and the broker's CPU beside the server's.
   */
  Map<String, Object> run() throws Exception {
    boolean wrk = switch (generator) {
      case "wrk" -> {
        if (!WrkLoop.available()) {
          throw new IllegalStateException("--generator wrk: wrk is not on the PATH (Debian: apt-get install wrk)");
        }
        yield true;
      }
      case "java" -> false;
      case "auto" -> WrkLoop.available();
      default -> throw new IllegalArgumentException("--generator is auto, wrk or java, not " + generator);
    };
    System.err.println(wrk ? "HTTP rows: wrk generates" : "HTTP rows: this JVM's HTTP client generates"
        + (generator.equals("auto") ? " (no wrk on the PATH; Debian: apt-get install wrk)" : ""));
    List<String> quoted = OverheadCommand.quoted(Harness.stsSentences());
    List<Saturated> before = inProcessRows(quoted, "in-process", null);
    List<Saturated> apartRows = new ArrayList<>();
    List<String> overHttp = transports.stream().filter(t -> !t.equals("kafka")).toList();
    List<String> overKafka = transports.contains("kafka") ? List.of("kafka") : List.of();
    for (List<String> apart : List.of(overHttp, overKafka)) {
      if (apart.isEmpty()) {
        continue;
      }
      try (OverheadServers servers = new OverheadServers(model, apart)) {
        for (String exit : exits) {
          for (Slot slot : servers.slots(exit, OverheadCommand.cycling(quoted))) {
            apartRows.add(saturate(slot, wrk, quoted));
          }
        }
      }
    }
    // The in-process rows again: the machine's speed drifts over the run's minutes, and the ratios
    // are to the mean of the readings before and after the transports.
    List<Saturated> after = inProcessRows(quoted, "in-process (after)", before);
    List<Saturated> rows = new ArrayList<>(before);
    for (Saturated r : apartRows) {
      double reference = (rateAt(before, r.exit()) + rateAt(after, r.exit())) / 2;
      rows.add(r.withRatio(r.perS() / reference));
    }
    rows.addAll(after);
    printSaturated(rows);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("concurrency", concurrency);
    result.put("seconds", seconds);
    result.put("rows", rows);
    return result;
  }

  /**
   * Each exit's in-process saturation row, named {@code name}, in a runtime of its own; with
   * {@code earlier}, each row's ratio is to the earlier reading at its exit (the drift).
   */
  private List<Saturated> inProcessRows(List<String> quoted, String name, List<Saturated> earlier) throws Exception {
    List<Saturated> rows = new ArrayList<>();
    try (Harness h = new Harness(model)) {
      for (String exit : exits) {
        Saturated r = saturate(OverheadCommand.inProcess(h, exit), false, quoted);
        rows.add(new Saturated(exit, name, r.generator(), r.perS(), earlier == null ? 1.0 : r.perS() / rateAt(earlier, exit),
            r.failed(), r.serverCpuSPer1000(), r.generatorCpuSPer1000(), r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms()));
      }
    }
    return rows;
  }

  private static double rateAt(List<Saturated> rows, String exit) {
    return rows.stream().filter(r -> r.exit().equals(exit)).mapToDouble(Saturated::perS).findFirst().orElse(Double.NaN);
  }

  private void printSaturated(List<Saturated> rows) {
    System.out.printf("%nClosed loop of %d outstanding, %d s per row (after %d s of warm-up); CPU s per 1,000 answers:%n",
        concurrency, seconds, warmUpSeconds);
    System.out.printf("%-5s %-18s %-10s %10s %6s %8s %8s %10s %8s %8s %8s %8s%n", "exit", "transport", "generator",
        "answers/s", "ratio", "failed", "server", "generator", "broker", "all", "p50 ms", "p99 ms");
    for (Saturated r : rows) {
      System.out.printf("%-5s %-18s %-10s %10.1f %6.2f %8d %8.2f %10.2f %8.2f %8.2f %8.0f %8.0f%n", r.exit(),
          r.transport(), r.generator(), r.perS(), r.ratio(), r.failed(), r.serverCpuSPer1000(),
          r.generatorCpuSPer1000(), r.brokerCpuSPer1000(),
          r.serverCpuSPer1000() + r.generatorCpuSPer1000() + r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms());
    }
  }

  /**
   * A closed loop of {@code concurrency} outstanding on the slot's transport for --seconds, after
   * --warm-up seconds unmeasured (from wrk if {@code wrk} and the transport is HTTP, else from this
   * JVM); the ratio is 1 (the caller sets it for the transports).
   */
  private Saturated saturate(Slot slot, boolean wrk, List<String> quoted) throws Exception {
    HttpRoute route = HttpRoute.of(slot.transport());
    if (wrk && route != null) {
      List<String> bodies = new ArrayList<>();
      for (int i = 0; i < quoted.size(); i++) {
        bodies.add(Transport.body(quoted::get, i, slot.exit(), route.extra()));
      }
      System.err.printf("%s at exit %s, wrk with %d connections: warm-up...%n", slot.transport(), slot.exit(),
          concurrency);
      WrkLoop.run(slot.url(), route.path(), bodies, concurrency, Duration.ofSeconds(warmUpSeconds));
      ProcessUsage s0 = ProcessUsage.of(slot.server());
      WrkLoop.Outcome o = WrkLoop.run(slot.url(), route.path(), bodies, concurrency, Duration.ofSeconds(seconds));
      double per1000 = 1000.0 / Math.max(1, o.perSecond() * seconds);
      System.err.printf("  %.1f answers/s, %d failed, p50 %.0f ms, p99 %.0f ms%n", o.perSecond(), o.failed(),
          o.p50Ms(), o.p99Ms());
      return new Saturated(slot.exit(), slot.transport(), "wrk", o.perSecond(), 1.0, o.failed(),
          ProcessUsage.of(slot.server()).cpuSecondsSince(s0) * per1000, o.generatorCpuSeconds() * per1000, 0,
          o.p50Ms(), o.p99Ms());
    }
    boolean apart = slot.server().pid() != ProcessHandle.current().pid();
    try (Transport transport = slot.open().get()) {
      System.err.printf("%s at exit %s, closed loop of %d: warm-up...%n", slot.transport(), slot.exit(), concurrency);
      ClosedLoop.run(transport::send, concurrency, Duration.ofSeconds(warmUpSeconds));
      ProcessUsage s0 = ProcessUsage.of(slot.server());
      ProcessUsage g0 = ProcessUsage.of(ProcessHandle.current());
      ProcessUsage b0 = slot.broker() == null ? null : ProcessUsage.of(slot.broker());
      ClosedLoop.Outcome o = ClosedLoop.run(i -> transport.send(i + 1_000_000), concurrency,
          Duration.ofSeconds(seconds));
      double per1000 = 1000.0 / Math.max(1, o.perSecond() * seconds);
      double server = ProcessUsage.of(slot.server()).cpuSecondsSince(s0) * per1000;
      double generatorCpu = apart ? ProcessUsage.of(ProcessHandle.current()).cpuSecondsSince(g0) * per1000 : 0;
      double broker = b0 == null ? 0 : ProcessUsage.of(slot.broker()).cpuSecondsSince(b0) * per1000;
      System.err.printf("  %.1f answers/s, %d failed, p50 %.0f ms, p99 %.0f ms%n", o.perSecond(), o.failed(),
          o.p50Ms(), o.p99Ms());
      return new Saturated(slot.exit(), slot.transport(), apart ? "java" : "in-process", o.perSecond(), 1.0,
          o.failed(), server, generatorCpu, broker, o.p50Ms(), o.p99Ms());
    }
  }
}
