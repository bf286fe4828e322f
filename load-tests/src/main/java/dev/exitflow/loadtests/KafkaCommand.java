package dev.exitflow.loadtests;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.streams.kafka.EmbeddedKafka;
import dev.exitflow.streams.kafka.KafkaSettings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Kafka load, three measurements in one run on one runtime:
 * <ol>
 *   <li><b>in-process</b>: closed-loop deep throughput of the runtime (the yardstick), measured just
 *       before and just after the throughput phase, the mean of the two reported;
 *   <li><b>throughput</b>: the Kafka pipeline, all deep, fed open-loop at 1.25x the in-process rate
 *       so that it is the bottleneck; results per second in the steady window;
 *   <li><b>overload</b>: all auto (deadline = the SLO from the record's timestamp), fed at
 *       {@code --rate} (default 2x the in-process rate): end-to-end latency and consumer lag.
 * </ol>
 * Against an embedded broker on 127.0.0.1 started here, or {@code --bootstrap-servers}.
 */
@Command(name = "kafka", description = "Kafka pipeline throughput vs in-process, and lag at overload with auto depth.")
final class KafkaCommand implements Callable<Integer> {
  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  @Option(names = "--seconds", defaultValue = "30", description = "Length of each Kafka phase (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--rate", description = "Records/s of the overload phase (default: 2x the in-process deep rate)")
  Double rate;

  @Option(names = "--bootstrap-servers", description = "Use this Kafka cluster instead of an embedded broker")
  String bootstrapServers;

  @Option(names = "--model", description = "Model name or directory (default: exitflow.model.default)")
  String model;

  record Phase(String exit, double offeredPerS, long produced, double resultsPerS, double p50Ms, double p99Ms,
      double maxMs, long maxLag, long maxLagFirstHalf, long maxLagSecondHalf, long duplicates, long lost,
      Map<Integer, Long> exits) {}

  @Override
  public Integer call() throws Exception {
    quietKafkaLogs();
    try (Harness h = new Harness(model)) {
      KafkaSettings base = KafkaSettings.create(h.config);
      EmbeddedKafka embedded = null;
      try {
        String servers = bootstrapServers;
        if (servers == null) {
          embedded = EmbeddedKafka.start(new EmbeddedKafka.Settings("127.0.0.1", 0, 0, "", 4,
              Duration.ofSeconds(30), Map.of()));
          servers = embedded.bootstrapServers();
        }
        System.err.println("in-process deep throughput (closed loop, 256 outstanding)...");
        h.closedLoop(i -> deep(h, i), 256, Duration.ofSeconds(3));
        Duration each = Duration.ofSeconds(Math.min(15, seconds));
        double before = h.closedLoop(i -> deep(h, i), 256, each);
        System.err.printf("in-process %.1f/s%n", before);

        String run = Long.toString(System.currentTimeMillis(), 36);
        System.err.printf("Kafka throughput phase: deep at %.0f/s for %d s...%n", before * 1.25, seconds);
        Phase tput = phase(h, settings(base, servers, "tput-" + run), "deep", before * 1.25);
        // On a shared machine the capacity drifts: measure in-process again and use the mean of the
        // two measurements that bracket the Kafka one.
        double after = h.closedLoop(i -> deep(h, i), 256, each);
        double inprocess = (before + after) / 2;
        System.err.printf("in-process again %.1f/s (mean %.1f/s)%n", after, inprocess);
        double overloadRate = rate != null ? rate : 2 * inprocess;
        System.err.printf("Kafka overload phase: auto at %.0f/s for %d s...%n", overloadRate, seconds);
        Phase over = phase(h, settings(base, servers, "over-" + run), "auto", overloadRate);

        print(before, after, tput, over, base);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("records_per_s", round(tput.resultsPerS()));
        line.put("inprocess_per_s", round(inprocess));
        line.put("ratio", Math.round(tput.resultsPerS() / inprocess * 1000) / 1000.0);
        line.put("p50_ms", over.p50Ms());
        line.put("p99_ms", over.p99Ms());
        line.put("max_lag", over.maxLag());
        line.put("lost", tput.lost() + over.lost());
        line.put("overload_per_s", round(overloadRate));
        line.put("duplicates", tput.duplicates() + over.duplicates());
        Harness.write("kafka.json", Map.of("inprocess_per_s", inprocess, "inprocess_before_after", new double[] {before, after}, "throughput", tput, "overload", over,
            "summary", line));
        if (json) {
          System.out.println(Harness.JSON.copy().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(line));
        }
        return 0;
      } finally {
        if (embedded != null) {
          embedded.close();
        }
      }
    }
  }

  private Phase phase(Harness h, KafkaSettings s, String exit, double offered) throws Exception {
    KafkaLoad.Outcome o = KafkaLoad.run(h, s, exit, offered, Duration.ofSeconds(seconds), Duration.ofSeconds(Math.min(5, seconds / 4)));
    return new Phase(exit, round(offered), o.produced(), round(o.resultsPerS()),
        o.latencyUs().getValueAtPercentile(50) / 1000.0, o.latencyUs().getValueAtPercentile(99) / 1000.0,
        o.latencyUs().getMaxValue() / 1000.0, o.maxLag(), o.maxLagFirstHalf(), o.maxLagSecondHalf(),
        o.duplicates(), o.lost(), o.exits());
  }

  private static KafkaSettings settings(KafkaSettings base, String servers, String name) {
    return base.withBootstrapServers(servers)
        .withGroupId("load-" + name)
        .withTopics(new KafkaSettings.Topics("load-" + name + "-requests", "load-" + name + "-results",
            "load-" + name + "-dead-letter", true, 4, (short) -1));
  }

  private static EmbeddingRequest deep(Harness h, int i) {
    return EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE).withPriority(Priority.BULK);
  }

  private void print(double before, double after, Phase tput, Phase over, KafkaSettings base) {
    double inprocess = (before + after) / 2;
    System.out.printf("in-process runtime, deep, closed loop: %.1f/s (%.1f before, %.1f after the Kafka throughput phase)%n",
        inprocess, before, after);
    System.out.printf("%-10s %-5s %9s %9s %9s %9s %9s %9s %8s %8s %6s %5s  %s%n", "phase", "exit", "offered/s",
        "results/s", "p50 ms", "p99 ms", "max ms", "max lag", "lag 1st", "lag 2nd", "dups", "lost", "exit mix");
    for (Phase p : new Phase[] {tput, over}) {
      System.out.printf("%-10s %-5s %9.1f %9.1f %9.1f %9.1f %9.1f %9d %8d %8d %6d %5d  %s%n",
          p == tput ? "throughput" : "overload", p.exit(), p.offeredPerS(), p.resultsPerS(), p.p50Ms(), p.p99Ms(),
          p.maxMs(), p.maxLag(), p.maxLagFirstHalf(), p.maxLagSecondHalf(), p.duplicates(), p.lost(), p.exits());
    }
    System.out.printf("Kafka throughput / in-process: %.2f (goal >= 0.9); overload lag %s (SLO %d ms)%n",
        tput.resultsPerS() / inprocess,
        over.maxLagSecondHalf() <= Math.max(over.maxLagFirstHalf() * 1.5, over.offeredPerS()) ? "bounded" : "GROWING",
        base.slo().toMillis());
  }

  /** The broker and the clients log a lot at INFO; this command's stderr is for its progress. */
  private static void quietKafkaLogs() {
    for (String name : new String[] {"kafka", "org.apache.kafka", "state.change.logger", "org.apache.pekko.kafka"}) {
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(name)).setLevel(ch.qos.logback.classic.Level.WARN);
    }
  }

  private static double round(double x) {
    return Math.round(x * 10) / 10.0;
  }
}
