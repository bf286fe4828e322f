package dev.exitflow.loadtests;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code exitflow serve} as a separate process on 127.0.0.1 and a free port, as a user runs it;
 * its resident memory is read from /proc. Closing it sends SIGTERM (graceful shutdown).
 */
final class ServerProcess implements AutoCloseable {
  final Process process;
  final int port;
  private final Path log;

  ServerProcess(String model) throws Exception {
    // HTTP only: the Kafka pipeline (and its embedded broker) stays off so the figures are the gateway's.
    this(model, List.of("-Dexitflow.gateway.kafka=off"));
  }

  /** With {@code properties} ({@code -Dkey=value}) given to its JVM. */
  ServerProcess(String model, List<String> properties) throws Exception {
    this(model, properties, "server");
  }

  /**
   * With {@code properties}, and {@code name} for its data directory ({@code load-tests/results/NAME-data})
   * and log ({@code NAME.log}), so two servers can run side by side.
   */
  ServerProcess(String model, List<String> properties, String name) throws Exception {
    Path home = Path.of(System.getProperty("exitflow.home", "."));
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    // A data directory of its own, so a serve the user runs keeps its lock.
    List<String> command = new ArrayList<>(List.of("java",
        "-Dexitflow.data-dir=" + home.resolve("load-tests/results/" + name + "-data")));
    // EXITFLOW_SERVER_JAVA_OPTS: the server JVM's own options (a JFR recording, ONNX Runtime's spinning off).
    String opts = System.getenv().getOrDefault("EXITFLOW_SERVER_JAVA_OPTS", "").strip();
    if (!opts.isEmpty()) {
      command.addAll(List.of(opts.split("\\s+")));
    }
    command.addAll(properties);
    command.addAll(List.of("-jar", home.resolve("gateway/target/exitflow.jar").toString(),
        "serve", "--host", "127.0.0.1", "--port", String.valueOf(port)));
    log = home.resolve("load-tests/results/" + name + ".log");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    if (model != null) {
      pb.command().addAll(List.of("--model", model));
    }
    Files.createDirectories(home.resolve("load-tests/results"));
    process = pb.start();
    awaitReady();
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  private void awaitReady() throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    long until = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (System.nanoTime() < until) {
      if (!process.isAlive()) {
        throw new IllegalStateException("exitflow serve exited with " + process.exitValue() + "; see " + log);
      }
      try {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url() + "/health/ready")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("exitflow serve was not ready within 3 minutes");
  }

  /**
   * Sends embedding requests for a while (16 at a time) so that JIT compilation and ONNX Runtime's
   * first runs on new shapes are not measured.
   */
  void warmUp(Duration length) throws Exception {
    HttpClient client = HttpClient.newHttpClient();
    long until = System.nanoTime() + length.toNanos();
    List<CompletableFuture<?>> batch = new ArrayList<>();
    for (int i = 0; System.nanoTime() < until; i++) {
      batch.add(client.sendAsync(HttpRequest.newBuilder(URI.create(url() + "/v1/embeddings"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"warming up the server, round " + i + "\"}"))
          .build(), HttpResponse.BodyHandlers.discarding()));
      if (batch.size() == 16) {
        CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).join();
        batch.clear();
      }
    }
    CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).join();
  }

  /** Resident set size in MiB, from /proc/PID/status. */
  double rssMiB() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException e) {
      // process gone
    }
    return 0;
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy(); // SIGTERM: graceful drain
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
