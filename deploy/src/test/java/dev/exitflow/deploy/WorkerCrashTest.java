package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A worker process killed outright (SIGKILL, no leaving the cluster) under load: the gateway's
 * failure detector and split-brain resolver take the node out, the batches it was running go to
 * the other worker, and every request is answered — none is lost or left hanging.
 */
class WorkerCrashTest {
  /**
   * Detect and down a dead node in seconds rather than the production defaults' ~25 s; one worker
   * per stage on each node, so a worker node brings three (the counts below are per node).
   */
  private static final String[] FAST_DOWNING = {
      "-Dpekko.cluster.failure-detector.acceptable-heartbeat-pause=2s",
      "-Dexitflow.cluster.pekko.cluster.split-brain-resolver.stable-after=3s",
      "-Dexitflow.actors.workers-per-stage=1"};
  private static final Pattern WORKERS = Pattern.compile("(?m)^exitflow_workers (\\d+)");

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void killingAWorkerProcessUnderLoadLosesNoRequest() throws Exception {
    int seedPort = ClusterProcesses.freePort();
    Path logs = Files.createDirectories(Path.of("target/crash-logs"));
    Process gateway = ClusterProcesses.node("gateway", seedPort, seedPort, logs.resolve("gateway.log"), FAST_DOWNING);
    Process staying = ClusterProcesses.node("worker", 0, seedPort, logs.resolve("staying.log"), FAST_DOWNING);
    Process killed = ClusterProcesses.node("worker", 0, seedPort, logs.resolve("killed.log"), FAST_DOWNING);
    try {
      String url = ClusterProcesses.awaitReady(logs.resolve("gateway.log"), gateway);
      HttpClient http = HttpClient.newHttpClient();
      awaitWorkers(http, url, 8); // 2 nodes x 4 stages: the reserve exit's and the plan's three

      // 600 requests, 64 at a time (as many connections), from another thread.
      List<CompletableFuture<HttpResponse<String>>> inFlight = new CopyOnWriteArrayList<>();
      Semaphore connections = new Semaphore(64);
      Thread load = new Thread(() -> {
        for (int i = 0; i < 600; i++) {
          connections.acquireUninterruptibly();
          inFlight.add(http.sendAsync(HttpRequest.newBuilder(URI.create(url + "/v1/embed"))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(
                      "{\"input\": \"request " + i + " reaches the deepest exit of a cluster\", \"exit\": \"deep\"}"))
                  .build(), HttpResponse.BodyHandlers.ofString())
              .whenComplete((r, e) -> connections.release()));
        }
      });
      load.start();
      while (inFlight.stream().filter(CompletableFuture::isDone).count() < 100) {
        Thread.sleep(10);
      }
      killed.destroyForcibly(); // SIGKILL
      load.join(TimeUnit.SECONDS.toMillis(120));
      Map<Integer, Integer> statuses = new TreeMap<>();
      for (CompletableFuture<HttpResponse<String>> f : inFlight) {
        HttpResponse<String> r = f.get(90, TimeUnit.SECONDS);
        statuses.merge(r.statusCode(), 1, Integer::sum);
        assertTrue(r.statusCode() == 200 || r.body().contains("worker_lost"), r.statusCode() + " " + r.body());
      }
      assertEquals(Map.of(200, 600), statuses, "every request answered on the surviving worker");
      awaitWorkers(http, url, 4);
      String log = Files.readString(logs.resolve("gateway.log"));
      Matcher requeued = Pattern.compile("(\\d+) running batch\\(es\\) go back to the queue").matcher(log);
      int lost = 0;
      int batches = 0;
      while (requeued.find()) {
        lost++;
        batches += Integer.parseInt(requeued.group(1));
      }
      // The gateway lost the killed node's four stage workers, one line each; under 64 requests in
      // flight every worker is running a batch, so the killed ones' batches went back to the queue.
      assertEquals(4, lost, "the gateway logs each of the killed node's workers as lost:\n" + log);
      assertTrue(batches >= 1, "no running batch was re-queued: the kill did not hit a busy worker");
    } finally {
      for (Process p : List.of(gateway, staying, killed)) {
        p.destroyForcibly();
      }
    }
  }

  private static void awaitWorkers(HttpClient http, String url, int workers) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    String last = "";
    while (System.nanoTime() < deadline) {
      last = http.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      Matcher m = WORKERS.matcher(last);
      if (m.find() && Integer.parseInt(m.group(1)) == workers) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the gateway never saw " + workers + " workers; /metrics: " + last);
  }
}
