package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.loadtests.OverheadServers.Slot;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.IntFunction;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What each transport costs the server: at a fixed open-loop load ({@code --rate}, or a share of
 * the deep capacity measured first), in alternating rounds after a warm-up pass over every row
 * (medians over the rounds), the server process's own CPU seconds and allocation per 1,000
 * embeddings for each transport, against the runtime called in-process. The server ({@code exitflow serve}), the
 * Kafka broker and this load generator are three processes, so neither the generator's nor the
 * broker's work is counted as the server's. The in-process row is this process (runtime and the
 * generator's few futures).
 */
@Command(name = "overhead", description = "Server CPU and allocation per 1,000 embeddings by transport, vs in-process.")
final class OverheadCommand implements Callable<Integer> {
  private static final Duration WARM_UP_STEP = Duration.ofSeconds(2);
  private static final Duration MAX_EXTRA_WARM_UP = Duration.ofSeconds(60);
  static final List<String> TRANSPORTS = List.of("http-float", "http-base64", "native", "websocket", "bulk", "kafka");

  @Option(names = "--seconds", defaultValue = "10", description = "Length of each row's measurement in each round (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--warm-up", defaultValue = "8", description = "Seconds each row runs at its rate, unmeasured, in a pass over all rows before the first round, so the server's JIT has compiled every transport's code (with --saturation: before each row) (default: ${DEFAULT-VALUE})")
  int warmUpSeconds;

  @Option(names = "--jit-quiet", defaultValue = "0.03", description = "After its warm-up, a row keeps warming in 2 s steps "
      + "until its server's JIT compiler threads used at most this share of the server's CPU in the last step (at most "
      + "60 s more), so every server is measured compiled, however much of its code the rows before it ran (default: ${DEFAULT-VALUE})")
  double jitQuiet;

  @Option(names = "--rounds", defaultValue = "3", description = "Rounds over all rows, alternating transports; each figure is the median over the rounds, each ratio the median of the rounds' ratios to the same round's in-process row (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--settle", defaultValue = "2", description = "Seconds at the row's rate before each round's measurement, after the transport's connections are opened (default: ${DEFAULT-VALUE})")
  int settleSeconds;

  @Option(names = "--load", defaultValue = "0.5", description = "Offered load as a share of the deep capacity measured first, unless --rate (default: ${DEFAULT-VALUE})")
  double load;

  @Option(names = "--rate", description = "Offered load per second for every row, so two runs offer the same load (per-1,000 figures depend on the rate); the deep capacity is still measured and reported")
  Double fixedRate;

  @Option(names = "--exits", split = ",", defaultValue = "deep,2", description = "Exits to measure at (default: ${DEFAULT-VALUE})")
  List<String> exits;

  @Option(names = "--transports", split = ",", description = "Transports (default: all of " + "http-float, http-base64, native, websocket, bulk, kafka)")
  List<String> transports = TRANSPORTS;

  @Option(names = "--model", description = "Model name or directory (default: exitflow.model.default)")
  String model;

  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  @Option(names = "--saturation", description = "Instead: answers per second at saturation by transport vs in-process (closed loop, --concurrency outstanding, --seconds each)")
  boolean saturation;

  @Option(names = "--concurrency", defaultValue = "256", description = "Requests outstanding with --saturation (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--generator", defaultValue = "auto", description = "With --saturation, what sends the HTTP rows' "
      + "requests: wrk (a C generator in its own process, about 0.03 CPU s per 1,000 requests), java (this JVM's HTTP "
      + "client, 0.7-0.9), or auto: wrk when it is on the PATH (default: ${DEFAULT-VALUE})")
  String generator;


  /**
   * One row: figures are medians over the rounds (completed and failed are sums); {@code ratio} is
   * the median of the rounds' ratios to the same round's in-process row, {@code ratioWithoutJit}
   * the same with each side's JIT compiler time taken out; the per-round figures are kept.
   */
  record Row(String exit, String transport, double offeredPerS, long completed, long failed, double serverCpuSPer1000,
      double ratio, double allocMbPer1000, double jitCpuSPer1000, double generatorCpuSPer1000, double brokerCpuSPer1000,
      double p50Ms, double p99Ms, double ratioWithoutJit, List<Double> serverCpuSPer1000Rounds,
      List<Double> jitCpuSPer1000Rounds, List<Double> ratioRounds) {}

  /** One round's measurement of a row. */
  private record Sample(long completed, long failed, double serverCpu, double alloc, double jitCpu, double generatorCpu,
      double brokerCpu, double p50Ms, double p99Ms) {}


  @Override
  public Integer call() throws Exception {
    if (saturation) {
      output("overhead-saturation.json", new OverheadSaturation(model, exits, transports, seconds, warmUpSeconds,
          concurrency, generator).run());
      return 0;
    }
    long began = System.nanoTime();
    try (Harness h = new Harness(model)) {
      IntFunction<String> text = cycling(quoted(h.sentences));
      double capacity = deepCapacity(h);
      double rate = fixedRate != null ? fixedRate : load * capacity;
      System.err.printf("deep capacity %.0f/s; every transport offered %.0f/s (%s)%n", capacity, rate,
          fixedRate != null ? "--rate" : String.format("x%.2f", load));
      // Every process stays up for the whole run, so the rounds can alternate between transports.
      try (OverheadServers servers = new OverheadServers(model, transports)) {
        List<Slot> slots = new ArrayList<>();
        for (String exit : exits) {
          slots.add(inProcess(h, exit));
          slots.addAll(servers.slots(exit, text));
        }
        warmUp(slots, rate, began);
        List<Row> rows = rows(measureRounds(slots, rate, began), rate);
        print(rows, rate);
        write(rows, rate, capacity, began);
      }
    }
    return 0;
  }

  /** The sentences, JSON-quoted, for the transports' request bodies. */
  static List<String> quoted(List<String> sentences) throws IOException {
    List<String> quoted = new ArrayList<>();
    for (String s : sentences) {
      quoted.add(Harness.JSON.writeValueAsString(s));
    }
    return quoted;
  }

  /** The i-th of {@code texts}, from the start again after the last. */
  static IntFunction<String> cycling(List<String> texts) {
    return i -> texts.get(Math.floorMod(i, texts.size()));
  }

  /** The runtime called in this process, at {@code exit}. */
  static Slot inProcess(Harness h, String exit) {
    ExitPolicy policy = ExitPolicy.parse(exit);
    return new Slot(exit, "in-process", null, ProcessHandle.current(), null,
        () -> i -> h.runtime.submit(EmbeddingRequest.of(h.sentence(i), policy)));
  }

  /** Deep answers per second in-process, closed loop; the first pass also warms this JVM's runtime code. */
  private static double deepCapacity(Harness h) throws InterruptedException {
    System.err.println("deep capacity, in-process closed loop...");
    h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(3));
    return h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(8));
  }

  /** The unmeasured pass over every row at its rate, so the server's JIT has compiled every transport's code. */
  private void warmUp(List<Slot> slots, double rate, long began) throws Exception {
    long perRow = settleSeconds + seconds;
    System.err.printf("%d rows: a warm-up pass of %d s each, then %d rounds of %d + %d s each (about %d min)%n",
        slots.size(), warmUpSeconds, rounds, settleSeconds, seconds,
        Math.round(slots.size() * (warmUpSeconds + rounds * perRow) / 60.0));
    for (Slot slot : slots) {
      System.err.printf("[warm-up, %s] %s at exit %s%n", elapsed(began), slot.transport(), slot.exit());
      try (Transport transport = slot.open().get()) {
        PoissonArrivals.run(rate, Duration.ofSeconds(warmUpSeconds), transport::send);
        warmUntilJitQuiet(slot, rate, transport);
      }
    }
  }

  /**
   * More of the row's traffic, in steps, while its server's JIT compiler still takes more than
   * {@code --jit-quiet} of the server's CPU: the HTTP server had run every HTTP row's warm-up when
   * its last row was measured, the Kafka server only its own, and its first rounds still compiled
   * (0.52 of its 5.13 CPU s per 1,000 at deep, 2026-12-03), which counted Kafka's start-up against it.
   */
  private void warmUntilJitQuiet(Slot slot, double rate, Transport transport) throws Exception {
    long until = System.nanoTime() + MAX_EXTRA_WARM_UP.toNanos();
    for (int step = 1; System.nanoTime() < until; step++) {
      ProcessUsage before = ProcessUsage.of(slot.server());
      int base = 2_000_000 + step * 100_000; // ids of their own: Kafka answers are matched by id
      PoissonArrivals.run(rate, WARM_UP_STEP, i -> transport.send(base + i));
      ProcessUsage after = ProcessUsage.of(slot.server());
      double cpu = after.cpuSecondsSince(before);
      double jit = after.jitCpuSecondsSince(before);
      if (!(cpu > 0) || !(jit / cpu > jitQuiet)) { // NaN: no /proc to tell, as quiet
        return;
      }
      System.err.printf("  still compiling: JIT %.0f%% of the server's CPU, %d s more%n", 100 * jit / cpu,
          WARM_UP_STEP.toSeconds() * step);
    }
  }

  /** The rounds, each over every row in turn: each row's samples, one a round. */
  private Map<Slot, List<Sample>> measureRounds(List<Slot> slots, double rate, long began) throws Exception {
    Map<Slot, List<Sample>> samples = new LinkedHashMap<>();
    for (int round = 1; round <= rounds; round++) {
      for (Slot slot : slots) {
        System.err.printf("[round %d/%d, %s] %s at exit %s: ", round, rounds, elapsed(began), slot.transport(),
            slot.exit());
        try (Transport transport = slot.open().get()) {
          Sample sample = measure(rate, slot.server(), slot.broker(), transport::send);
          samples.computeIfAbsent(slot, k -> new ArrayList<>()).add(sample);
        }
      }
    }
    return samples;
  }

  /** Each row's figures, against the in-process row at the same exit. */
  private static List<Row> rows(Map<Slot, List<Sample>> samples, double rate) {
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<Slot, List<Sample>> e : samples.entrySet()) {
      Slot slot = e.getKey();
      List<Sample> reference = samples.entrySet().stream()
          .filter(r -> r.getKey().exit().equals(slot.exit()) && r.getKey().transport().equals("in-process"))
          .findFirst().orElseThrow().getValue();
      rows.add(row(slot, rate, e.getValue(), reference));
    }
    return rows;
  }

  /** load-tests/results/overhead.json, and with --json the same as the last line of output. */
  private void write(List<Row> rows, double rate, double capacity, long began) throws IOException {
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("offered_per_s", rate);
    result.put("seconds", seconds);
    result.put("deep_capacity_per_s", capacity);
    result.put("rate_fixed", fixedRate != null);
    result.put("rounds", rounds);
    result.put("warm_up_s", warmUpSeconds);
    result.put("settle_s", settleSeconds);
    result.put("wall_s", (System.nanoTime() - began) / 1e9);
    result.put("rows", rows);
    output("overhead.json", result);
  }

  private void output(String file, Map<String, Object> result) throws IOException {
    System.err.println("wrote " + Harness.write(file, result));
    if (json) {
      System.out.println(Harness.line(result));
    }
  }

  private static String elapsed(long began) {
    long s = (System.nanoTime() - began) / 1_000_000_000L;
    return String.format("%d:%02d", s / 60, s % 60);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n == 0 ? Double.NaN : n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static double median(List<Sample> samples, ToDoubleFunction<Sample> field) {
    return median(samples.stream().map(field::applyAsDouble).toList());
  }

  private static Row row(Slot slot, double rate, List<Sample> samples, List<Sample> reference) {
    List<Double> ratios = new ArrayList<>();
    List<Double> ratiosWithoutJit = new ArrayList<>();
    for (int i = 0; i < samples.size(); i++) {
      Sample s = samples.get(i);
      Sample r = reference.get(i);
      ratios.add(s.serverCpu() / r.serverCpu());
      ratiosWithoutJit.add((s.serverCpu() - s.jitCpu()) / (r.serverCpu() - r.jitCpu()));
    }
    return new Row(slot.exit(), slot.transport(), rate, samples.stream().mapToLong(Sample::completed).sum(),
        samples.stream().mapToLong(Sample::failed).sum(), median(samples, Sample::serverCpu), median(ratios),
        median(samples, Sample::alloc), median(samples, Sample::jitCpu), median(samples, Sample::generatorCpu),
        median(samples, Sample::brokerCpu), median(samples, Sample::p50Ms), median(samples, Sample::p99Ms),
        median(ratiosWithoutJit), samples.stream().map(Sample::serverCpu).toList(),
        samples.stream().map(Sample::jitCpu).toList(), ratios);
  }

  /**
   * A few seconds at the same rate to settle, then the measured run: the server's (and broker's)
   * CPU and the server's allocation over it, divided by the embeddings answered.
   */
  private Sample measure(double rate, ProcessHandle server, ProcessHandle broker, IntFunction<CompletionStage<?>> send)
      throws InterruptedException {
    PoissonArrivals.run(rate, Duration.ofSeconds(settleSeconds), send);
    ProcessUsage s0 = ProcessUsage.of(server);
    ProcessUsage g0 = ProcessUsage.of(ProcessHandle.current());
    ProcessUsage b0 = broker == null ? null : ProcessUsage.of(broker);
    PoissonArrivals.Outcome o = PoissonArrivals.run(rate, Duration.ofSeconds(seconds), i -> send.apply(i + 1_000_000));
    ProcessUsage s1 = ProcessUsage.of(server);
    ProcessUsage g1 = ProcessUsage.of(ProcessHandle.current());
    double per1000 = 1000.0 / Math.max(o.completed(), 1);
    double serverCpu = s1.cpuSecondsSince(s0) * per1000;
    double generatorCpu = server.pid() == ProcessHandle.current().pid() ? 0 : g1.cpuSecondsSince(g0) * per1000;
    double brokerCpu = broker == null ? 0 : ProcessUsage.of(broker).cpuSecondsSince(b0) * per1000;
    double jit = s1.jitCpuSecondsSince(s0) * per1000;
    System.err.printf("%d answered, %d failed, server %.2f CPU s per 1,000 (JIT %.2f)%n", o.completed(), o.failed(),
        serverCpu, jit);
    return new Sample(o.completed(), o.failed(), serverCpu, s1.allocatedMbSince(s0) * per1000, jit, generatorCpu,
        brokerCpu, o.latencyUs().getValueAtPercentile(50) / 1000.0, o.latencyUs().getValueAtPercentile(99) / 1000.0);
  }

  private void print(List<Row> rows, double rate) {
    System.out.printf("%nOffered %.0f/s (open loop, Poisson), %d rounds of %d s per row, medians; per 1,000 embeddings"
        + " answered:%n", rate, rounds, seconds);
    System.out.printf("%-5s %-12s %9s %6s %13s %6s %8s %13s %8s %13s %10s %8s %8s  %s%n", "exit", "transport", "answered",
        "failed", "server CPU s", "ratio", "w/o JIT", "server alloc", "of it JIT", "generator CPU", "broker CPU", "p50 ms",
        "p99 ms", "server CPU s by round");
    for (Row r : rows) {
      System.out.printf("%-5s %-12s %9d %6d %13.2f %6.2f %8.2f %10.0f MB %8.2f %13.2f %10.2f %8.1f %8.1f  %s%n", r.exit(),
          r.transport(), r.completed(), r.failed(), r.serverCpuSPer1000(), r.ratio(), r.ratioWithoutJit(),
          r.allocMbPer1000(), r.jitCpuSPer1000(), r.generatorCpuSPer1000(), r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms(),
          r.serverCpuSPer1000Rounds().stream().map(v -> String.format("%.2f", v)).toList());
    }
  }
}
