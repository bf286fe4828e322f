package dev.exitflow.loadtests;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.gateway.batch.BatchRunner;
import dev.exitflow.gateway.batch.BatchSettings;
import dev.exitflow.gateway.batch.FileStore;
import dev.exitflow.gateway.http.BatchApi;
import dev.exitflow.gateway.http.BulkApi;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.util.ByteString;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Batch jobs against the engine, side by side in one run: the same lines through the score flow
 * ({@code exitflow score}, the reference) and as a batch job (Files and Batch API runner), lines
 * per second and resident memory (start, peak, end) of each; then interactive deep requests at
 * half the measured deep capacity (open loop, Poisson) for a while alone and for as long again
 * with a batch job running, p50/p99 of each.
 */
@Command(name = "batch", description = "Batch job throughput vs score, and interactive p99 with a job running.")
final class BatchLoadCommand implements Callable<Integer> {
  @Option(names = "--lines", defaultValue = "50000", description = "Lines of the job file (default: ${DEFAULT-VALUE})")
  int lines;

  @Option(names = "--seconds", defaultValue = "30", description = "Length of each interactive run (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--exit", defaultValue = "deep", description = "Exit of the job's lines (default: ${DEFAULT-VALUE})")
  String exit;

  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  record Throughput(long lines, double seconds, double linesPerSecond, long rssStartMb, long rssPeakMb, long rssEndMb) {}

  record Interactive(double rate, long completed, long rejected, double p50Ms, double p99Ms) {}

  @Override
  public Integer call() throws Exception {
    Path dir = Path.of(System.getProperty("exitflow.home", ".")).resolve("load-tests/results/batch");
    ResultsDir.clean(dir);
    Path ndjson = dir.resolve("score-input.ndjson");
    Path jsonl = dir.resolve("batch-input.jsonl");
    try (Harness h = new Harness(null)) {
      writeInputs(h, ndjson, jsonl);
      Materializer mat = Materializer.matFromSystem(h.system);
      GatewaySettings gateway = GatewaySettings.create(h.config);
      Map<String, Object> result = new LinkedHashMap<>();

      System.err.printf("score flow on %d lines...%n", lines);
      Throughput score = measure(() -> FileIO.fromPath(ndjson)
          .via(BulkApi.flow(h.runtime, RequestDecoder.forRuntime(h.runtime, gateway.requests()),
              new RequestDefaults(ExitPolicy.parse(exit), dev.exitflow.actors.Priority.BULK, null, null),
              gateway.bulkParallelism(), gateway.maxBulkLineBytes(), 1, code -> { }))
          .runWith(FileIO.toPath(dir.resolve("score-output.ndjson")), mat).toCompletableFuture().join());
      result.put("score", score);

      FileStore files = new FileStore(dir.resolve("data/files"));
      BatchRunner runner = new BatchRunner(files, dir.resolve("data/batches"), BatchApi.lineEmbedder(h.runtime, gateway),
          mat, BatchSettings.create(h.config));
      runner.start();
      System.err.printf("batch job on the same %d lines...%n", lines);
      Throughput batch = measure(() -> awaitEnd(runner, submit(files, runner, jsonl)));
      result.put("batch", batch);
      result.put("batch_vs_score", batch.linesPerSecond() / score.linesPerSecond());

      System.err.println("measuring deep capacity (closed loop)...");
      h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256, Duration.ofSeconds(3));
      double capacity = h.closedLoop(i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE), 256,
          Duration.ofSeconds(8));
      double rate = capacity / 2;
      result.put("deep_capacity_rps", capacity);
      h.awaitIdle();
      System.err.printf("interactive deep at %.0f/s for %d s, alone...%n", rate, seconds);
      result.put("interactive_alone", interactive(h, rate));
      String running = submit(files, runner, jsonl);
      awaitUnderWay(runner, running);
      System.err.printf("interactive deep at %.0f/s for %d s, with a batch job running...%n", rate, seconds);
      long before = runner.progress().stream().mapToLong(BatchRunner.Progress::done).sum();
      long t0 = System.nanoTime();
      result.put("interactive_with_job", interactive(h, rate));
      long after = runner.progress().stream().mapToLong(BatchRunner.Progress::done).sum();
      result.put("job_lines_per_second_meanwhile", (after - before) / ((System.nanoTime() - t0) / 1e9));
      runner.cancel(running);
      runner.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);

      print(result);
      Path file = Harness.write("batch.json", result);
      System.err.println("wrote " + file);
      if (json) {
        System.out.println(Harness.line(result));
      }
      return 0;
    }
  }

  private void writeInputs(Harness h, Path ndjson, Path jsonl) throws Exception {
    Files.createDirectories(ndjson.getParent());
    try (BufferedWriter a = Files.newBufferedWriter(ndjson); BufferedWriter b = Files.newBufferedWriter(jsonl)) {
      for (int i = 0; i < lines; i++) {
        String input = Harness.JSON.writeValueAsString(h.sentence(i));
        a.write("{\"id\": " + i + ", \"input\": " + input + "}\n");
        b.write("{\"custom_id\": \"r-" + i + "\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": {\"input\": "
            + input + ", \"exit\": \"" + exit + "\"}}\n");
      }
    }
  }

  private static String submit(FileStore files, BatchRunner runner, Path jsonl) throws Exception {
    Path copy = files.newUpload();
    Files.copy(jsonl, copy);
    String fileId = files.add(copy, "batch-input.jsonl", "batch").id();
    return runner.create(fileId, "/v1/embeddings", "24h", null).get("id").asText();
  }

  /** Waits until the job has lines done (validated and computing), at most 60 s. */
  private static void awaitUnderWay(BatchRunner runner, String id) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (runner.progress().stream().noneMatch(p -> p.id().equals(id) && p.done() > 0)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("batch " + id + " did not start within 60 s: " + runner.get(id).orElseThrow());
      }
      Thread.sleep(20);
    }
  }

  private static Void awaitEnd(BatchRunner runner, String id) {
    while (true) {
      ObjectNode b = runner.get(id).orElseThrow();
      String status = b.get("status").asText();
      if (status.equals("completed") || status.equals("failed") || status.equals("cancelled")) {
        if (!status.equals("completed")) {
          throw new IllegalStateException("batch " + status + ": " + b);
        }
        return null;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private interface Work {
    void run() throws Exception;
  }

  /** Runs {@code work}, sampling this process's resident memory. */
  private Throughput measure(Work work) throws Exception {
    long startRss = Rss.now();
    Rss rss = Rss.sample();
    long t0 = System.nanoTime();
    long peak;
    try {
      work.run();
    } finally {
      peak = rss.stop();
    }
    double s = (System.nanoTime() - t0) / 1e9;
    return new Throughput(lines, s, lines / s, startRss, peak, Rss.now());
  }

  private Interactive interactive(Harness h, double rate) throws InterruptedException {
    OpenLoop.Outcome o = OpenLoop.run(h.runtime, rate, Duration.ofSeconds(seconds),
        i -> EmbeddingRequest.of(h.sentence(i), ExitPolicy.Deep.INSTANCE));
    return new Interactive(rate, o.completed(), o.rejected(), o.latencyUs().getValueAtPercentile(50) / 1000.0,
        o.latencyUs().getValueAtPercentile(99) / 1000.0);
  }


  private void print(Map<String, Object> r) {
    Throughput s = (Throughput) r.get("score");
    Throughput b = (Throughput) r.get("batch");
    System.out.printf("%d lines, exit %s%n", lines, exit);
    System.out.printf("%-6s %10s %8s %12s %14s%n", "run", "lines/s", "s", "RSS start MB", "peak / end MB");
    System.out.printf("%-6s %10.1f %8.1f %12d %8d / %d%n", "score", s.linesPerSecond(), s.seconds(), s.rssStartMb(),
        s.rssPeakMb(), s.rssEndMb());
    System.out.printf("%-6s %10.1f %8.1f %12d %8d / %d%n", "batch", b.linesPerSecond(), b.seconds(), b.rssStartMb(),
        b.rssPeakMb(), b.rssEndMb());
    System.out.printf("batch / score: %.2f%n", (double) r.get("batch_vs_score"));
    Interactive alone = (Interactive) r.get("interactive_alone");
    Interactive with = (Interactive) r.get("interactive_with_job");
    System.out.printf("interactive deep at %.0f/s (half the deep capacity %.0f/s):%n", alone.rate(),
        (double) r.get("deep_capacity_rps"));
    System.out.printf("  alone:          p50 %.1f ms, p99 %.1f ms, %d done, %d rejected%n", alone.p50Ms(), alone.p99Ms(),
        alone.completed(), alone.rejected());
    System.out.printf("  with a job:     p50 %.1f ms, p99 %.1f ms, %d done, %d rejected; the job ran %.0f lines/s%n",
        with.p50Ms(), with.p99Ms(), with.completed(), with.rejected(), (double) r.get("job_lines_per_second_meanwhile"));
  }
}
