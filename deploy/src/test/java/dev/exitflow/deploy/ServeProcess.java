package dev.exitflow.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code serve} from the packaged jar as a child process with the default settings but for what a
 * test must move: the HTTP port (a free one), the embedded broker's port, and the data directory.
 * Its output goes to a log file; it runs in {@code dir}, where a native crash would leave its
 * {@code hs_err_pid} file.
 */
final class ServeProcess {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  final Process process;
  final Path log;
  final Path dir;

  private ServeProcess(Process process, Path log, Path dir) {
    this.process = process;
    this.log = log;
    this.dir = dir;
  }

  /** Starts serve with the data directory {@code data}, the embedded broker on {@code kafkaPort} (0: Kafka off). */
  static ServeProcess start(Path dir, String logName, Path data, int kafkaPort, String... serveArgs) throws IOException {
    Files.createDirectories(dir);
    List<String> command = new ArrayList<>(List.of("java", "-Xmx1g",
        "-Dexitflow.model.cache-dir=" + System.getProperty("exitflow.model.cache-dir"),
        "-Dexitflow.model.adapters.calibrate-on-start=" + System.getProperty("exitflow.model.adapters.calibrate-on-start")));
    if (kafkaPort == 0) {
      command.add("-Dexitflow.gateway.kafka=off");
    }
    command.addAll(List.of("-jar", ClusterProcesses.JAR.toAbsolutePath().toString(), "serve", "--port", "0"));
    command.addAll(List.of(serveArgs));
    Path log = dir.resolve(logName);
    ProcessBuilder b = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    b.environment().putAll(Map.of("EXITFLOW_DATA_DIR", data.toAbsolutePath().toString(),
        "EXITFLOW_KAFKA_EMBEDDED_PORT", String.valueOf(kafkaPort)));
    return new ServeProcess(b.start(), log, dir);
  }

  /** The HTTP address once the log says the model is ready. */
  String awaitReady() throws Exception {
    return ClusterProcesses.awaitReady(log, process);
  }

  /** Waits until the log holds {@code text}. */
  void awaitLog(String text, long seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline && process.isAlive()) {
      if (Files.readString(log).contains(text)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the log never said '" + text + "':\n" + Files.readString(log));
  }

  static JsonNode health(String url) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  /** Waits for the exit after a signal; returns the exit code. */
  int awaitExit(long seconds) throws Exception {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("did not exit within " + seconds + " s:\n" + Files.readString(log));
    }
    return process.exitValue();
  }

  /** hs_err_pid files a native crash left in the process's directory. */
  List<Path> crashFiles() throws IOException {
    try (var files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().startsWith("hs_err_pid")).toList();
    }
  }
}
