package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitQuality;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsEvaluator;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.eval.StsReport;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Overload: open-loop Poisson arrivals at a multiple of the measured deep capacity, once with
 * every request {@code deep} and once with every request {@code auto} (deadline = the SLO, half
 * bulk, half interactive). Reports completed, rejected, latency percentiles, exit mix and the
 * STS-B Spearman the served exit mix implies (per-exit Spearman from an evaluation in this run),
 * and plots p99, queue depth and exit mix over time.
 */
@Command(name = "overload", description = "Open-loop overload, fixed-deep vs auto depth.")
final class OverloadCommand implements Callable<Integer> {
  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  @Option(names = "--seconds", defaultValue = "60", description = "Length of each mode's run (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--factor", defaultValue = "2.0", description = "Offered load / measured deep capacity (default: ${DEFAULT-VALUE})")
  double factor;

  @Option(names = "--slo-ms", defaultValue = "250", description = "Latency objective, p99 (default: ${DEFAULT-VALUE})")
  long sloMs;

  @Option(names = "--model", description = "Model name or directory (default: exitflow.model.default)")
  String model;

  @Option(names = "--min-fidelity", paramLabel = "F",
      description = "Also run mode auto-floor: the auto requests with min_fidelity F; reports results below the floor")
  Double minFidelity;

  record Mode(long offered, long completed, long rejected, long failed, double p50Ms, double p99Ms, double p999Ms,
      Map<String, Double> exitMix, double impliedSpearman, boolean meetsSlo, long belowFloor) {}

  record Result(String model, double deepCapacityRps, double offeredRps, int seconds, long sloMs,
      Map<String, Double> spearmanByExit, Map<String, Mode> modes) {}

  @Override
  public Integer call() throws Exception {
    try (Harness h = new Harness(model)) {
      Map<String, Double> spearman = spearmanByExit(h);
      System.err.println("measuring deep capacity (closed loop)...");
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(3));
      double capacity = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256,
          Duration.ofSeconds(10));
      double rate = capacity * factor;
      System.err.printf("deep capacity %.1f/s; offering %.1f/s for %d s per mode%n", capacity, rate, seconds);

      Map<String, IntFunction<EmbeddingRequest>> workloads = new LinkedHashMap<>();
      workloads.put("deep", i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE));
      workloads.put("auto", i -> new EmbeddingRequest(h.sentence(i), ExitPolicy.Auto.INSTANCE, sloMs,
          i % 2 == 0 ? Priority.BULK : Priority.INTERACTIVE, null));
      if (minFidelity != null) {
        workloads.put("auto-floor", i -> new EmbeddingRequest(h.sentence(i), ExitPolicy.Auto.INSTANCE, sloMs,
            i % 2 == 0 ? Priority.BULK : Priority.INTERACTIVE, null, minFidelity));
      }
      Map<String, Mode> modes = new LinkedHashMap<>();
      Map<String, List<OpenLoop.Sample>> timelines = new LinkedHashMap<>();
      for (var w : workloads.entrySet()) {
        h.awaitIdle();
        System.err.printf("mode %s...%n", w.getKey());
        OpenLoop.Outcome o = OpenLoop.run(h.runtime, rate, Duration.ofSeconds(seconds), w.getValue());
        modes.put(w.getKey(), summarize(o, spearman, w.getKey().equals("auto-floor") ? belowFloor(h, o) : 0));
        timelines.put(w.getKey(), o.timeline());
      }
      Result result = new Result(h.model.name(), capacity, rate, seconds, sloMs, spearman, modes);
      print(result);
      Path file = Harness.write("overload.json", Map.of("result", result, "timelines", timelines));
      Path png = Path.of(System.getProperty("exitflow.home", ".")).resolve("load-tests/results/overload.png");
      OverloadPlot.write(timelines, sloMs, png);
      System.err.println("wrote " + file + " and " + png);
      if (json) {
        System.out.println(Harness.line(Map.of("offered_rps", rate, "deep_capacity_rps", capacity, "slo_ms", sloMs, "modes", modes)));
      }
      return 0;
    }
  }

  private Map<String, Double> spearmanByExit(Harness h) throws Exception {
    System.err.println("evaluating every exit on STS-B test...");
    try (StagedEncoder engine = StagedEncoder.open(h.model, h.modelSettings)) {
      StsReport report = StsEvaluator.evaluate(engine, StsDataset.read(StsFiles.locate("sts-test.csv")), n -> {});
      Map<String, Double> byExit = new TreeMap<>();
      report.exits().forEach(e -> byExit.put(String.valueOf(e.layer()), e.spearman()));
      return byExit;
    }
  }

  /** Results of the floor mode that left at an exit whose fidelity is below the floor (should be 0). */
  private long belowFloor(Harness h, OpenLoop.Outcome o) {
    long below = 0;
    for (ExitQuality q : h.runtime.exits()) {
      if (!(q.fidelity() >= minFidelity)) {
        below += o.exits().getOrDefault(q.layer(), 0L);
      }
    }
    System.err.printf("exit fidelity %s; floor %.4f%n", h.runtime.exits().stream()
        .map(q -> q.layer() + "=" + q.fidelity()).toList(), minFidelity);
    return below;
  }

  private Mode summarize(OpenLoop.Outcome o, Map<String, Double> spearman, long belowFloor) {
    long served = o.exits().values().stream().mapToLong(Long::longValue).sum();
    Map<String, Double> mix = new TreeMap<>();
    double implied = 0;
    for (var e : o.exits().entrySet()) {
      double share = served == 0 ? 0 : (double) e.getValue() / served;
      mix.put(String.valueOf(e.getKey()), share);
      implied += share * spearman.getOrDefault(String.valueOf(e.getKey()), 0.0);
    }
    double p99 = o.latencyUs().getValueAtPercentile(99) / 1000.0;
    return new Mode(o.offered(), o.completed(), o.rejected(), o.failed(),
        o.latencyUs().getValueAtPercentile(50) / 1000.0, p99, o.latencyUs().getValueAtPercentile(99.9) / 1000.0,
        mix, implied, p99 <= sloMs && o.rejected() == 0, belowFloor);
  }


  private void print(Result r) {
    System.out.printf("%s: deep capacity %.1f/s, offered %.1f/s (x%.1f) for %d s, SLO p99 <= %d ms%n",
        r.model(), r.deepCapacityRps(), r.offeredRps(), factor, r.seconds(), r.sloMs());
    System.out.printf("%-10s %9s %9s %9s %9s %9s %10s %9s %11s  %s%n",
        "mode", "offered", "completed", "rejected", "p50 ms", "p99 ms", "p99.9 ms", "spearman", "below floor",
        "exit mix");
    for (var e : r.modes().entrySet()) {
      Mode m = e.getValue();
      System.out.printf("%-10s %9d %9d %9d %9.1f %9.1f %10.1f %9.2f %11d  %s%n", e.getKey(), m.offered(),
          m.completed(), m.rejected(), m.p50Ms(), m.p99Ms(), m.p999Ms(), m.impliedSpearman() * 100, m.belowFloor(),
          m.exitMix());
    }
  }
}
