package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.IntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What each transport costs the server: at a fixed open-loop load (a share of the deep capacity
 * measured first), the server process's own CPU seconds and allocation per 1,000 embeddings for
 * each transport, against the runtime called in-process. The server ({@code exitflow serve}), the
 * Kafka broker and this load generator are three processes, so neither the generator's nor the
 * broker's work is counted as the server's. The in-process row is this process (runtime and the
 * generator's few futures).
 */
@Command(name = "overhead", description = "Server CPU and allocation per 1,000 embeddings by transport, vs in-process.")
final class OverheadCommand implements Callable<Integer> {
  static final List<String> TRANSPORTS = List.of("http-float", "http-base64", "native", "websocket", "bulk", "kafka");

  @Option(names = "--seconds", defaultValue = "20", description = "Length of each measurement (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--warm-up", defaultValue = "8", description = "Seconds at the row's rate before each measurement, so the server's JIT has compiled the transport's code (default: ${DEFAULT-VALUE})")
  int warmUpSeconds;

  @Option(names = "--load", defaultValue = "0.5", description = "Offered load as a share of the deep capacity (default: ${DEFAULT-VALUE})")
  double load;

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

  /** How one transport is measured, against the server process (and the broker's, for Kafka). */
  private interface Measure<R> {
    R apply(String exit, String transport, ProcessHandle server, ProcessHandle broker,
        IntFunction<CompletionStage<?>> send) throws Exception;
  }

  record Saturated(String exit, String transport, double perS, double ratio, long failed, double serverCpuSPer1000) {}

  record Row(String exit, String transport, double offeredPerS, long completed, long failed, double serverCpuSPer1000,
      double ratio, double allocMbPer1000, double jitCpuSPer1000, double generatorCpuSPer1000, double brokerCpuSPer1000,
      double p50Ms, double p99Ms) {}

  @Override
  public Integer call() throws Exception {
    if (saturation) {
      return saturation();
    }
    List<Row> rows = new ArrayList<>();
    Map<String, Double> inProcess = new LinkedHashMap<>();
    double rate;
    List<String> quoted = new ArrayList<>();
    try (Harness h = new Harness(model)) {
      for (String s : h.sentences) {
        quoted.add(Harness.JSON.writeValueAsString(s));
      }
      System.err.println("deep capacity, in-process closed loop...");
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(3));
      double capacity = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256,
          Duration.ofSeconds(8));
      rate = load * capacity;
      System.err.printf("deep capacity %.0f/s; every transport offered %.0f/s (x%.2f) for %d s%n", capacity, rate, load,
          seconds);
      for (String exit : exits) {
        ExitPolicy policy = ExitPolicy.parse(exit);
        Row row = measure(exit, "in-process", rate, ProcessHandle.current(), null,
            i -> h.runtime.submit(EmbeddingRequest.of(h.sentence(i), policy)));
        inProcess.put(exit, row.serverCpuSPer1000());
        rows.add(row);
      }
    }
    IntFunction<String> text = i -> quoted.get(Math.floorMod(i, quoted.size()));
    overTransports(text, (exit, t, server, broker, send) -> withRatio(measure(exit, t, rate, server, broker, send),
        inProcess), rows);
    print(rows, rate);
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("offered_per_s", rate);
    result.put("seconds", seconds);
    result.put("rows", rows);
    System.err.println("wrote " + Harness.write("overhead.json", result));
    if (json) {
      System.out.println(Harness.line(result));
    }
    return 0;
  }

  /**
   * Each transport against {@code exitflow serve} in its own process (HTTP ones), then Kafka against
   * a serve with the pipeline on and a broker in a third process.
   */
  private <R> void overTransports(IntFunction<String> text, Measure<R> measure, List<R> rows) throws Exception {
    List<String> overHttp = transports.stream().filter(t -> !t.equals("kafka")).toList();
    if (!overHttp.isEmpty()) {
      try (ServerProcess server = new ServerProcess(model)) {
        server.warmUp(Duration.ofSeconds(5));
        for (String exit : exits) {
          for (String t : overHttp) {
            try (Transport transport = open(t, server.url(), null, text, exit)) {
              rows.add(measure.apply(exit, t, server.process.toHandle(), null, transport::send));
            }
          }
        }
      }
    }
    if (transports.contains("kafka")) {
      System.err.println("a Kafka broker in its own process, and serve with the Kafka pipeline...");
      try (BrokerProcess broker = new BrokerProcess();
          ServerProcess server = new ServerProcess(model, List.of("-Dexitflow.gateway.kafka=on",
              "-Dexitflow.kafka.bootstrap-servers=" + broker.bootstrapServers))) {
        server.warmUp(Duration.ofSeconds(5));
        for (String exit : exits) {
          try (Transport transport = open("kafka", server.url(), broker.bootstrapServers, text, exit)) {
            rows.add(measure.apply(exit, "kafka", server.process.toHandle(), broker.handle(), transport::send));
          }
        }
      }
    }
  }

  /**
   * Today's throughput ratios with the generator, the server and the broker in their own processes:
   * a closed loop of {@code concurrency} outstanding requests per transport against the runtime
   * in-process (where the generator shares the process, as in load-tests/run saturation).
   */
  private Integer saturation() throws Exception {
    List<Saturated> rows = new ArrayList<>();
    Map<String, Double> inProcess = new LinkedHashMap<>();
    List<String> quoted = new ArrayList<>();
    try (Harness h = new Harness(model)) {
      for (String s : h.sentences) {
        quoted.add(Harness.JSON.writeValueAsString(s));
      }
      for (String exit : exits) {
        ExitPolicy policy = ExitPolicy.parse(exit);
        Saturated row = saturate(exit, "in-process", ProcessHandle.current(),
            i -> h.runtime.submit(EmbeddingRequest.of(h.sentence(i), policy)));
        inProcess.put(exit, row.perS());
        rows.add(row);
      }
    }
    IntFunction<String> text = i -> quoted.get(Math.floorMod(i, quoted.size()));
    overTransports(text, (exit, t, server, broker, send) -> {
      Saturated r = saturate(exit, t, server, send);
      Double reference = inProcess.get(exit);
      return new Saturated(exit, t, r.perS(), reference == null ? Double.NaN : r.perS() / reference, r.failed(),
          r.serverCpuSPer1000());
    }, rows);
    System.out.printf("%nClosed loop of %d outstanding, %d s per row (after %d s of warm-up):%n", concurrency, seconds,
        warmUpSeconds);
    System.out.printf("%-5s %-12s %10s %6s %8s %13s%n", "exit", "transport", "answers/s", "ratio", "failed",
        "server CPU s");
    for (Saturated r : rows) {
      System.out.printf("%-5s %-12s %10.1f %6.2f %8d %13.2f%n", r.exit(), r.transport(), r.perS(), r.ratio(), r.failed(),
          r.serverCpuSPer1000());
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("concurrency", concurrency);
    result.put("seconds", seconds);
    result.put("rows", rows);
    System.err.println("wrote " + Harness.write("overhead-saturation.json", result));
    if (json) {
      System.out.println(Harness.line(result));
    }
    return 0;
  }

  private Saturated saturate(String exit, String transport, ProcessHandle server, IntFunction<CompletionStage<?>> send)
      throws InterruptedException {
    System.err.printf("%s at exit %s, closed loop of %d: warm-up...%n", transport, exit, concurrency);
    ClosedLoop.run(send, concurrency, Duration.ofSeconds(warmUpSeconds));
    ProcessUsage s0 = ProcessUsage.of(server);
    ClosedLoop.Outcome o = ClosedLoop.run(i -> send.apply(i + 1_000_000), concurrency, Duration.ofSeconds(seconds));
    ProcessUsage s1 = ProcessUsage.of(server);
    double cpu = s1.cpuSecondsSince(s0) * 1000.0 / Math.max(1, o.perSecond() * seconds);
    System.err.printf("  %.1f answers/s, %d failed%n", o.perSecond(), o.failed());
    return new Saturated(exit, transport, o.perSecond(), 1.0, o.failed(), cpu);
  }

  private static Transport open(String name, String base, String bootstrapServers, IntFunction<String> text, String exit) {
    return switch (name) {
      case "http-float" -> Transport.http(base, "/v1/embeddings", text, exit, "");
      case "http-base64" -> Transport.http(base, "/v1/embeddings", text, exit, ", \"encoding_format\": \"base64\"");
      case "native" -> Transport.http(base, "/v1/embed", text, exit, "");
      case "websocket" -> Transport.webSocket(base, text, exit, 4);
      case "bulk" -> Transport.bulk(base, text, exit, Duration.ofMillis(200));
      case "kafka" -> Transport.kafka(bootstrapServers, "exitflow-requests", "exitflow-results", text, exit);
      default -> throw new IllegalArgumentException("unknown transport " + name + "; known: " + TRANSPORTS);
    };
  }

  /**
   * A warm-up of a few seconds at the same rate, then the measured run: the server's (and
   * broker's) CPU and the server's allocation over it, divided by the embeddings answered.
   */
  private Row measure(String exit, String transport, double rate, ProcessHandle server, ProcessHandle broker,
      IntFunction<CompletionStage<?>> send) throws InterruptedException {
    System.err.printf("%s at exit %s: warm-up...%n", transport, exit);
    PoissonArrivals.run(rate, Duration.ofSeconds(warmUpSeconds), send);
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
    Row row = new Row(exit, transport, rate, o.completed(), o.failed(), serverCpu, 1.0, s1.allocatedMbSince(s0) * per1000,
        s1.jitCpuSecondsSince(s0) * per1000, generatorCpu, brokerCpu, o.latencyUs().getValueAtPercentile(50) / 1000.0,
        o.latencyUs().getValueAtPercentile(99) / 1000.0);
    System.err.printf("  %d answered, %d failed, server %.2f CPU s per 1,000%n", o.completed(), o.failed(), serverCpu);
    return row;
  }

  private static Row withRatio(Row r, Map<String, Double> inProcess) {
    Double reference = inProcess.get(r.exit());
    return new Row(r.exit(), r.transport(), r.offeredPerS(), r.completed(), r.failed(), r.serverCpuSPer1000(),
        reference == null ? Double.NaN : r.serverCpuSPer1000() / reference, r.allocMbPer1000(), r.jitCpuSPer1000(),
        r.generatorCpuSPer1000(),
        r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms());
  }

  private void print(List<Row> rows, double rate) {
    System.out.printf("%nOffered %.0f/s (open loop, Poisson) for %d s per row; per 1,000 embeddings answered:%n", rate,
        seconds);
    System.out.printf("%-5s %-12s %9s %6s %13s %6s %13s %8s %13s %10s %8s %8s%n", "exit", "transport", "answered", "failed",
        "server CPU s", "ratio", "server alloc", "of it JIT", "generator CPU", "broker CPU", "p50 ms", "p99 ms");
    for (Row r : rows) {
      System.out.printf("%-5s %-12s %9d %6d %13.2f %6.2f %10.0f MB %8.2f %13.2f %10.2f %8.1f %8.1f%n", r.exit(), r.transport(),
          r.completed(), r.failed(), r.serverCpuSPer1000(), r.ratio(), r.allocMbPer1000(), r.jitCpuSPer1000(),
          r.generatorCpuSPer1000(),
          r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms());
    }
  }
}
