package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
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

  record Row(String exit, String transport, double offeredPerS, long completed, long failed, double serverCpuSPer1000,
      double ratio, double allocMbPer1000, double generatorCpuSPer1000, double brokerCpuSPer1000, double p50Ms,
      double p99Ms) {}

  @Override
  public Integer call() throws Exception {
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
    List<String> overHttp = transports.stream().filter(t -> !t.equals("kafka")).toList();
    if (!overHttp.isEmpty()) {
      try (ServerProcess server = new ServerProcess(model)) {
        server.warmUp(Duration.ofSeconds(5));
        for (String exit : exits) {
          for (String t : overHttp) {
            try (Transport transport = open(t, server.url(), null, text, exit)) {
              rows.add(withRatio(measure(exit, t, rate, server.process.toHandle(), null, transport::send),
                  inProcess));
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
            rows.add(withRatio(measure(exit, "kafka", rate, server.process.toHandle(), broker.handle(), transport::send),
                inProcess));
          }
        }
      }
    }
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
      IntFunction<java.util.concurrent.CompletionStage<?>> send) throws InterruptedException {
    System.err.printf("%s at exit %s: warm-up...%n", transport, exit);
    PoissonArrivals.run(rate, Duration.ofSeconds(3), send);
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
        generatorCpu, brokerCpu, o.latencyUs().getValueAtPercentile(50) / 1000.0,
        o.latencyUs().getValueAtPercentile(99) / 1000.0);
    System.err.printf("  %d answered, %d failed, server %.2f CPU s per 1,000%n", o.completed(), o.failed(), serverCpu);
    return row;
  }

  private static Row withRatio(Row r, Map<String, Double> inProcess) {
    Double reference = inProcess.get(r.exit());
    return new Row(r.exit(), r.transport(), r.offeredPerS(), r.completed(), r.failed(), r.serverCpuSPer1000(),
        reference == null ? Double.NaN : r.serverCpuSPer1000() / reference, r.allocMbPer1000(), r.generatorCpuSPer1000(),
        r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms());
  }

  private void print(List<Row> rows, double rate) {
    System.out.printf("%nOffered %.0f/s (open loop, Poisson) for %d s per row; per 1,000 embeddings answered:%n", rate,
        seconds);
    System.out.printf("%-5s %-12s %9s %6s %13s %6s %13s %13s %10s %8s %8s%n", "exit", "transport", "answered", "failed",
        "server CPU s", "ratio", "server alloc", "generator CPU", "broker CPU", "p50 ms", "p99 ms");
    for (Row r : rows) {
      System.out.printf("%-5s %-12s %9d %6d %13.2f %6.2f %10.0f MB %13.2f %10.2f %8.1f %8.1f%n", r.exit(), r.transport(),
          r.completed(), r.failed(), r.serverCpuSPer1000(), r.ratio(), r.allocMbPer1000(), r.generatorCpuSPer1000(),
          r.brokerCpuSPer1000(), r.p50Ms(), r.p99Ms());
    }
  }
}
