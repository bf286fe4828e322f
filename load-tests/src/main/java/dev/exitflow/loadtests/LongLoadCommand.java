package dev.exitflow.loadtests;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Short interactive requests while long passages saturate the runtime: STS-B sentences at a share
 * of the measured deep capacity (open loop, Poisson) alone, then beside a closed loop of long
 * passages sent as bulk work (a scoring job, Kafka records), then beside the same passages sent as
 * interactive requests (a client that does not mark them). p50/p99 of the short requests, the
 * passages per second meanwhile, and the process's peak resident memory. Batching settings are
 * compared by running it once per setting ({@code EXITFLOW_JAVA_OPTS=-Dexitflow.actors...}).
 */
@Command(name = "long", description = "Short interactive p99 while long passages (bulk or interactive) saturate the runtime.")
final class LongLoadCommand implements Callable<Integer> {
  @Option(names = "--seconds", defaultValue = "20", description = "Length of each phase (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--load", defaultValue = "0.3",
      description = "Short requests' rate as a share of the measured deep capacity on sentences (default: ${DEFAULT-VALUE})")
  double load;

  @Option(names = "--concurrency", defaultValue = "64", description = "Long passages outstanding (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--dataset", description = "One passage per line (default: data/europarl/europarl-passages-en.txt)")
  Path dataset;

  @Option(names = "--min-tokens", defaultValue = "200",
      description = "Keep passages of at least this many tokens (the served model cuts at its maximum) (default: ${DEFAULT-VALUE})")
  int minTokens;

  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  record Phase(String name, double shortRate, long shortCompleted, long shortRejected, double shortP50Ms,
      double shortP99Ms, double shortP999Ms, double passagesPerSecond, long passagesFailed, long peakRssMb) {}

  @Override
  public Integer call() throws Exception {
    Path file = dataset != null ? dataset : Passages.defaultFile();
    try (Harness h = new Harness(null)) {
      List<String> passages = Passages.read(file, h.runtime.tokenizer(), minTokens);
      Map<String, Object> settings = new LinkedHashMap<>();
      for (String key : List.of("max-batch-size", "max-padded-tokens", "bulk-batches-beside-interactive",
          "bulk-batch-size-beside-interactive", "bulk-padded-tokens-beside-interactive")) {
        String path = "exitflow.actors.batching." + key;
        if (h.config.hasPath(path)) {
          settings.put(key, h.config.getAnyRef(path));
        }
      }
      System.err.println("batching: " + settings);

      System.err.println("measuring deep capacity on sentences (closed loop)...");
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(3));
      double capacity = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256,
          Duration.ofSeconds(8));
      double rate = capacity * load;
      h.awaitIdle();

      List<Phase> phases = new ArrayList<>();
      phases.add(phase(h, "alone", rate, null));
      phases.add(phase(h, "beside bulk passages", rate, i -> passage(passages, i).withPriority(Priority.BULK)));
      phases.add(phase(h, "beside interactive passages", rate, i -> passage(passages, i)));

      System.out.printf("%s: deep capacity %.1f/s on sentences; short deep requests at %.1f/s (x%.2f); %d passages"
          + " of %d+ tokens, %d outstanding; batching %s%n", h.model.name(), capacity, rate, load, passages.size(),
          minTokens, concurrency, settings);
      System.out.printf("%-28s %9s %8s %8s %9s %9s %10s %11s %8s%n", "phase", "completed", "refused", "p50 ms",
          "p99 ms", "p99.9 ms", "passages/s", "failed", "peak MB");
      for (Phase p : phases) {
        System.out.printf("%-28s %9d %8d %8.1f %9.1f %9.1f %10.1f %11d %8d%n", p.name(), p.shortCompleted(),
            p.shortRejected(), p.shortP50Ms(), p.shortP99Ms(), p.shortP999Ms(), p.passagesPerSecond(),
            p.passagesFailed(), p.peakRssMb());
      }
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("model", h.model.name());
      result.put("deep_capacity_rps", capacity);
      result.put("short_rate", rate);
      result.put("passages", passages.size());
      result.put("min_tokens", minTokens);
      result.put("concurrency", concurrency);
      result.put("batching", settings);
      result.put("phases", phases);
      Path out = Harness.write("long.json", result);
      System.err.println("wrote " + out);
      if (json) {
        System.out.println(Harness.line(result));
      }
      return 0;
    }
  }

  private static EmbeddingRequest passage(List<String> passages, int i) {
    return EmbeddingRequest.of(passages.get(Math.floorMod(i, passages.size())), ExitPolicy.Deep.INSTANCE);
  }

  /** Short requests for {@code seconds}, beside a closed loop of {@code background} requests if any. */
  private Phase phase(Harness h, String name, double rate, java.util.function.IntFunction<EmbeddingRequest> background)
      throws Exception {
    Rss rss = Rss.sample();
    CompletableFuture<ClosedLoop.Outcome> loop = null;
    if (background != null) {
      // The passages run a little longer than the short requests, so they saturate the whole phase.
      Duration span = Duration.ofSeconds(seconds + 3);
      loop = CompletableFuture.supplyAsync(() -> {
        try {
          return ClosedLoop.run(i -> h.runtime.submit(background.apply(i)), concurrency, span);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      h.awaitStats(s -> s.inFlight() >= concurrency, Duration.ofSeconds(10)); // the passages fill the runtime first
    }
    System.err.printf("%s: short requests at %.1f/s for %d s...%n", name, rate, seconds);
    OpenLoop.Outcome o = OpenLoop.run(h.runtime, rate, Duration.ofSeconds(seconds),
        i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE));
    ClosedLoop.Outcome b = loop == null ? new ClosedLoop.Outcome(0, 0, 0, 0) : loop.get();
    long peak = rss.stop();
    h.awaitIdle();
    return new Phase(name, rate, o.completed(), o.rejected(), o.latencyUs().getValueAtPercentile(50) / 1000.0,
        o.latencyUs().getValueAtPercentile(99) / 1000.0, o.latencyUs().getValueAtPercentile(99.9) / 1000.0,
        b.perSecond(), b.failed(), peak);
  }
}
