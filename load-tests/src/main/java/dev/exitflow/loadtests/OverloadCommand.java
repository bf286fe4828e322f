package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EncoderRuntime;
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
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;
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
  private static final Duration WARM_UP = Duration.ofSeconds(5);
  private static final Duration REST = Duration.ofSeconds(3);

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

  @Option(names = "--neighbour",
      description = "Halfway through each mode, start a CPU-bound process on one core (stopped at the mode's end)")
  boolean neighbour;

  @Option(names = "--min-fidelity", paramLabel = "F",
      description = "Also run mode auto-floor: the auto requests with min_fidelity F; reports results below the floor")
  Double minFidelity;

  @Option(names = "--shuffle",
      description = "Send the STS-B sentences in a shuffled order (seed 42) instead of the file's, where the long ones come "
          + "together: a burst of texts twice as long every pass, as one client's batch of long documents would be")
  boolean shuffle;

  @Option(names = "--modes", split = ",", paramLabel = "MODE",
      description = "Which modes to run, of deep, auto and auto-floor (default: all that apply)")
  List<String> only;

  /**
   * One mode's totals. {@code rejectedP99Ms}: how long the slowest refusals took to arrive.
   * {@code shareOfFirstExitCapacity}: completions per second over the first exit's measured
   * capacity. {@code recoveredAfterS}: with a neighbour, seconds from its start to the first
   * 5-second window from which on every window's p99 meets the SLO (null: never).
   */
  record Mode(long offered, long completed, long rejected, long failed, double p50Ms, double p99Ms, double p999Ms,
      double rejectedP99Ms, Map<String, Double> exitMix, double impliedSpearman, boolean meetsSlo, long belowFloor,
      double shareOfFirstExitCapacity, List<OpenLoop.Window> windows, Double recoveredAfterS, Parts parts) {}

  /**
   * p50, p99 and max of the completed requests' time before the generator sent them, in stage
   * queues, computing, and elsewhere ({@link OpenLoop.Parts}), and of their latency by exit and reason.
   */
  record Parts(double[] lateMs, double[] queueMs, double[] computeMs, double[] otherMs, Map<String, ByExit> byExit) {
    static Parts of(OpenLoop.Parts p) {
      Map<String, ByExit> byExit = new TreeMap<>();
      p.byExitUs().forEach((k, h) -> byExit.put(k, new ByExit(h.getTotalCount(), percentiles(h))));
      return new Parts(percentiles(p.lateUs()), percentiles(p.queueUs()), percentiles(p.computeUs()), percentiles(p.otherUs()), byExit);
    }

    private static double[] percentiles(Histogram h) {
      return new double[] {h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0, h.getMaxValue() / 1000.0};
    }
  }

  /** Completed requests that left at one exit for one reason, and p50 / p99 / max of their latency. */
  record ByExit(long count, double[] latencyMs) {}

  record Result(String model, double deepCapacityRps, int firstExit, double firstExitCapacityRps, double offeredRps, int seconds,
      long sloMs, boolean neighbour, boolean shuffled, Map<String, Double> spearmanByExit, Map<String, Mode> modes) {}

  @Override
  public Integer call() throws Exception {
    try (Harness h = new Harness(model)) {
      if (shuffle) {
        Collections.shuffle(h.sentences, new Random(42));
      }
      Map<String, Double> spearman = spearmanByExit(h);
      System.err.println("measuring deep capacity (closed loop)...");
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(3));
      double capacity = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256,
          Duration.ofSeconds(10));
      int firstExit = h.runtime.exits().get(0).layer();
      System.err.printf("measuring exit %d capacity (closed loop)...%n", firstExit);
      double firstCapacity = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), new ExitPolicy.Exact(firstExit)),
          256, Duration.ofSeconds(10));
      double rate = capacity * factor;
      System.err.printf("deep capacity %.1f/s, exit %d %.1f/s; offering %.1f/s for %d s per mode%n", capacity,
          firstExit, firstCapacity, rate, seconds);

      Map<String, IntFunction<EmbeddingRequest>> workloads = new LinkedHashMap<>();
      workloads.put("deep", i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE));
      workloads.put("auto", i -> new EmbeddingRequest(h.sentence(i), ExitPolicy.Auto.INSTANCE, sloMs,
          i % 2 == 0 ? Priority.BULK : Priority.INTERACTIVE, null));
      if (minFidelity != null) {
        workloads.put("auto-floor", i -> new EmbeddingRequest(h.sentence(i), ExitPolicy.Auto.INSTANCE, sloMs,
            i % 2 == 0 ? Priority.BULK : Priority.INTERACTIVE, null, minFidelity));
      }
      if (only != null) {
        workloads.keySet().retainAll(only);
      }
      Map<String, Mode> modes = new LinkedHashMap<>();
      Map<String, List<OpenLoop.Sample>> timelines = new LinkedHashMap<>();
      for (var w : workloads.entrySet()) {
        // Warm the mode's own paths first (an auto request pools features for the adapters and
        // leaves by the controller's level: code and ONNX Runtime graphs the capacity loops did not
        // run; cold, the first 5-10 s of a run served a fraction of the exit-2 capacity). Then the
        // run starts from an idle runtime at full depth: a warm server meeting a step of load.
        // Its closed-loop rate is the mode's own capacity, which the capacity loops' plain deep and
        // exit-2 requests only bound: the offered rate against it is the load the mode really sees.
        System.err.printf("warming up mode %s (closed loop, %d s)...%n", w.getKey(), WARM_UP.toSeconds());
        double warmRate = h.closedLoop(w.getValue(), 256, WARM_UP);
        System.err.printf("mode %s closed loop: %.1f/s (offered %.1f/s is %.2f of it)%n", w.getKey(), warmRate, rate,
            rate / warmRate);
        h.awaitIdle();
        // Then rests: a warm node meeting a step of load has been idle, not saturated, just before
        // (admission's share of the deadline, lowered by the warm-up's saturation, returns while idle).
        Thread.sleep(REST.toMillis());
        System.err.printf("mode %s...%n", w.getKey());
        OpenLoop.Outcome o;
        try (Neighbour n = neighbour ? Neighbour.startAfter(Duration.ofSeconds(seconds).dividedBy(2)) : null) {
          o = OpenLoop.run(h.runtime, rate, Duration.ofSeconds(seconds), w.getValue());
        }
        modes.put(w.getKey(), summarize(o, spearman, w.getKey().equals("auto-floor") ? belowFloor(h, o) : 0,
            firstCapacity));
        timelines.put(w.getKey(), o.timeline());
      }
      Result result = new Result(h.model.name(), capacity, firstExit, firstCapacity, rate, seconds, sloMs, neighbour, shuffle, spearman,
          modes);
      print(result);
      Path file = Harness.write("overload.json", Map.of("result", result, "timelines", timelines));
      Path png = Path.of(System.getProperty("exitflow.home", ".")).resolve("load-tests/results/overload.png");
      OverloadPlot.write(timelines, sloMs, h.runtime.exits().size(), png);
      System.err.println("wrote " + file + " and " + png);
      if (json) {
        System.out.println(Harness.line(Map.of("offered_rps", rate, "deep_capacity_rps", capacity,
            "first_exit_capacity_rps", firstCapacity, "slo_ms", sloMs, "modes", modes)));
      }
      return 0;
    }
  }

  private Map<String, Double> spearmanByExit(Harness h) throws Exception {
    System.err.println("evaluating every exit on STS-B test...");
    // The plan the runtime serves, so a reserve exit is evaluated too.
    try (StagedEncoder engine = StagedEncoder.open(h.model, h.modelSettings, EncoderRuntime.servedPlan(h.model, h.config))) {
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

  private Mode summarize(OpenLoop.Outcome o, Map<String, Double> spearman, long belowFloor, double firstCapacity) {
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
        o.rejectedUs().getValueAtPercentile(99) / 1000.0, mix, implied, p99 <= sloMs && o.rejected() == 0, belowFloor,
        o.completed() / (double) seconds / firstCapacity, o.windows(), neighbour ? recoveredAfter(o.windows()) : null, Parts.of(o.parts()));
  }

  /** Seconds from the neighbour's start (half-way) to the window from which on every p99 meets the SLO. */
  private Double recoveredAfter(List<OpenLoop.Window> windows) {
    double change = seconds / 2.0;
    Double from = null;
    for (OpenLoop.Window w : windows) {
      if (w.fromSeconds() + OpenLoop.WINDOW.toSeconds() <= change || w.fromSeconds() >= seconds) {
        continue; // before the change, or the drain after the run
      }
      if (w.p99Ms() > sloMs) {
        from = null;
      } else if (from == null) {
        from = Math.max(0, w.fromSeconds() - change);
      }
    }
    return from;
  }


  private static String shares(Map<String, Double> mix) {
    StringBuilder b = new StringBuilder("{");
    mix.forEach((k, v) -> b.append(b.length() > 1 ? ", " : "").append(k).append('=').append(String.format("%.3f", v)));
    return b.append('}').toString();
  }

  private void print(Result r) {
    System.out.printf("%s: deep capacity %.1f/s, offered %.1f/s (x%.1f) for %d s, SLO p99 <= %d ms%n",
        r.model(), r.deepCapacityRps(), r.offeredRps(), factor, r.seconds(), r.sloMs());
    System.out.printf("exit %d capacity %.1f/s (x%.2f deep)%s%n", r.firstExit(), r.firstExitCapacityRps(), r.firstExitCapacityRps() / r.deepCapacityRps(),
        (r.neighbour() ? "; a CPU-bound neighbour on one core from half-way" : "")
            + (r.shuffled() ? "; sentences shuffled" : "; sentences in file order"));
    System.out.printf("%-10s %9s %9s %9s %9s %9s %10s %11s %9s %11s %9s  %s%n",
        "mode", "offered", "completed", "rejected", "p50 ms", "p99 ms", "p99.9 ms", "refusal p99", "spearman",
        "below floor", "x exit 1", "exit mix");
    for (var e : r.modes().entrySet()) {
      Mode m = e.getValue();
      System.out.printf("%-10s %9d %9d %9d %9.1f %9.1f %10.1f %11.1f %9.2f %11d %9.2f  %s%n", e.getKey(), m.offered(),
          m.completed(), m.rejected(), m.p50Ms(), m.p99Ms(), m.p999Ms(), m.rejectedP99Ms(), m.impliedSpearman() * 100,
          m.belowFloor(), m.shareOfFirstExitCapacity(), shares(m.exitMix()));
    }
    for (var e : r.modes().entrySet()) {
      Parts p = e.getValue().parts();
      System.out.printf("%s, p50 / p99 / max ms: generator late %.1f / %.1f / %.1f, in stage queues %.1f / %.1f / %.1f, "
          + "computing %.1f / %.1f / %.1f, elsewhere %.1f / %.1f / %.1f%n", e.getKey(), p.lateMs()[0], p.lateMs()[1],
          p.lateMs()[2], p.queueMs()[0], p.queueMs()[1], p.queueMs()[2], p.computeMs()[0],
          p.computeMs()[1], p.computeMs()[2], p.otherMs()[0], p.otherMs()[1], p.otherMs()[2]);
      System.out.printf("%s, by exit and reason, count p50 / p99 / max ms:", e.getKey());
      p.byExit().forEach((k, b) -> System.out.printf(" [%s] %d %.1f / %.1f / %.1f", k, b.count(), b.latencyMs()[0],
          b.latencyMs()[1], b.latencyMs()[2]));
      System.out.println();
    }
    for (var e : r.modes().entrySet()) {
      System.out.printf("%s, p99 ms per %d s window (completed/rejected)%s:", e.getKey(), OpenLoop.WINDOW.toSeconds(),
          e.getValue().recoveredAfterS() == null ? "" : ", back under the SLO " + e.getValue().recoveredAfterS()
              + " s after the neighbour started");
      for (OpenLoop.Window w : e.getValue().windows()) {
        System.out.printf(" %.0fs %.0f (%d/%d)", w.fromSeconds(), w.p99Ms(), w.completed(), w.rejected());
      }
      System.out.println();
    }
  }
}
