package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.loadtests.gatling.EmbeddingsSimulation;
import dev.exitflow.loadtests.gatling.StreamSimulation;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code http} and {@code websocket}: Gatling against {@code exitflow serve}, started here as its
 * own process on 127.0.0.1, compared with the runtime's in-process saturation throughput measured
 * in the same run, with the server's resident memory at idle and under load.
 */
@Command(name = "gateway", hidden = true)
final class GatewayLoadCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "http or websocket")
  String mode;

  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  @Option(names = "--seconds", defaultValue = "30", description = "Length of each measurement (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--users", defaultValue = "128", description = "Concurrent Gatling users (default: ${DEFAULT-VALUE})")
  int users;

  @Option(names = "--model", description = "Model name or directory (default: exitflow.model.default)")
  String model;

  record Result(String mode, double rps, double inprocessRps, double ratio, double p50Ms, double p99Ms, long errors,
      long requests, double rssIdleMib, double rssPeakMib, double rssGrowth, List<double[]> rssOverTime) {}

  /** Mean RSS of the last quarter of the run over the first quarter's, minus one: a leak shows as growth. */
  static double growth(List<double[]> rss) {
    int q = rss.size() / 4;
    if (q == 0) {
      return 0;
    }
    double first = rss.subList(0, q).stream().mapToDouble(p -> p[1]).average().orElse(0);
    double last = rss.subList(rss.size() - q, rss.size()).stream().mapToDouble(p -> p[1]).average().orElse(0);
    return last / first - 1;
  }

  @Override
  public Integer call() throws Exception {
    double inprocess;
    try (Harness h = new Harness(model)) {
      System.err.println("in-process saturation (closed loop, all deep)...");
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), users, Duration.ofSeconds(3));
      // At most 30 s: a long --seconds is a soak of the server, not of the in-process reference.
      inprocess = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), users,
          Duration.ofSeconds(Math.min(seconds, 30)));
    }
    Path home = Path.of(System.getProperty("exitflow.home", "."));
    Class<?> simulation = mode.equals("websocket") ? StreamSimulation.class : EmbeddingsSimulation.class;
    try (ServerProcess server = new ServerProcess(model)) {
      Thread.sleep(2000);
      double idle = server.rssMiB();
      server.warmUp(Duration.ofSeconds(5));
      AtomicReference<Double> peak = new AtomicReference<>(idle);
      // RSS over time ([seconds, MiB]); with a long --seconds this is the soak test for native leaks.
      List<double[]> rss = new CopyOnWriteArrayList<>();
      long start = System.nanoTime();
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      sampler.scheduleAtFixedRate(() -> {
        double now = server.rssMiB();
        peak.accumulateAndGet(now, Math::max);
        rss.add(new double[] {(System.nanoTime() - start) / 1e9, now});
      }, 1, 1, TimeUnit.SECONDS);
      // Over the WebSocket only replies count, and the percentiles are Gatling's global ones (sends included).
      GatlingRun.Summary s = GatlingRun.run(simulation, server.url(), users, seconds,
          home.resolve("load-tests/results/gatling"), mode.equals("websocket") ? "result" : null);
      sampler.shutdownNow();
      Result r = new Result(mode, s.rps(), inprocess, s.rps() / inprocess, s.p50Ms(), s.p99Ms(), s.errors(),
          s.requests(), idle, peak.get(), growth(rss), rss);
      System.out.printf("%n%-40s %10s%n", mode + ": " + users + " users, " + seconds + " s", "value");
      System.out.printf("%-40s %10.1f%n", "Gatling requests/s through the server", r.rps());
      System.out.printf("%-40s %10.1f%n", "in-process runtime requests/s", r.inprocessRps());
      System.out.printf("%-40s %10.2f%n", "ratio", r.ratio());
      System.out.printf("%-40s %10.0f / %.0f%n", "p50 / p99 ms", r.p50Ms(), r.p99Ms());
      System.out.printf("%-40s %10d of %d%n", "errors", r.errors(), r.requests());
      System.out.printf("%-40s %10.0f / %.0f%n", "server RSS MiB idle / peak", r.rssIdleMib(), r.rssPeakMib());
      System.out.printf("%-40s %9.1f%%%n", "RSS growth, first to last quarter", 100 * r.rssGrowth());
      Harness.write(mode + ".json", r);
      if (json) {
        System.out.println(Harness.line(new Result(r.mode(), r.rps(), r.inprocessRps(), r.ratio(), r.p50Ms(), r.p99Ms(),
            r.errors(), r.requests(), r.rssIdleMib(), r.rssPeakMib(), r.rssGrowth(), List.of())));
      }
      return 0;
    }
  }
}
