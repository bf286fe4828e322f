package dev.exitflow.deploy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Processes of the packaged jar as cluster nodes, configured the way the container images are. */
final class ClusterProcesses {
  static final Path JAR = Path.of("../gateway/target/exitflow.jar");
  static final Pattern READY = Pattern.compile("ready: .* on (http://127\\.0\\.0\\.1:\\d+)");

  private ClusterProcesses() {}

  /** `serve` as a cluster node with {@code role}, output to {@code log}; {@code jvmOptions} go before -jar. */
  static Process node(String role, int clusterPort, int seedPort, Path log, String... jvmOptions) throws IOException {
    List<String> command = new ArrayList<>(List.of("java", "-Dexitflow.gateway.kafka=off",
        "-Dexitflow.model.cache-dir=" + System.getProperty("exitflow.model.cache-dir"),
        "-Dexitflow.data-dir=" + log.toAbsolutePath() + ".data",
        "-Dexitflow.model.adapters.calibrate-on-start=" + System.getProperty("exitflow.model.adapters.calibrate-on-start")));
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-jar", JAR.toString(), "serve", "--port", "0"));
    ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    b.environment().putAll(Map.of("EXITFLOW_CLUSTER", "on", "EXITFLOW_ROLES", role,
        "EXITFLOW_CLUSTER_PORT", String.valueOf(clusterPort),
        "EXITFLOW_SEED_NODES", "pekko://exitflow@127.0.0.1:" + seedPort));
    return b.start();
  }

  /** The node's HTTP address once its log says it is ready. */
  static String awaitReady(Path log, Process p) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline && p.isAlive()) {
      Matcher m = READY.matcher(Files.readString(log));
      if (m.find()) {
        return m.group(1);
      }
      Thread.sleep(200);
    }
    throw new AssertionError("never ready:\n" + Files.readString(log));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
