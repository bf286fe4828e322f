package dev.exitflow.loadtests;

import dev.exitflow.streams.kafka.EmbeddedKafka;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Kafka's own KRaft broker (the embedded one {@code serve} starts) in a process of its own on
 * 127.0.0.1, so that neither the server's nor the load generator's CPU figures include it. The
 * child prints its bootstrap servers and stops when its stdin closes or on SIGTERM.
 */
final class BrokerProcess implements AutoCloseable {
  final Process process;
  final String bootstrapServers;

  BrokerProcess() throws Exception {
    Path home = Path.of(System.getProperty("exitflow.home", "."));
    String classpath = Path.of(BrokerProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    process = new ProcessBuilder("java", "-cp", classpath, BrokerProcess.class.getName())
        .redirectError(home.resolve("load-tests/results/broker.log").toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null || !line.startsWith("bootstrap ")) {
      throw new IllegalStateException("the broker did not start; see load-tests/results/broker.log");
    }
    bootstrapServers = line.substring("bootstrap ".length());
  }

  /** ProcessHandle of the broker, for its CPU time. */
  ProcessHandle handle() {
    return process.toHandle();
  }

  @Override
  public void close() throws Exception {
    process.getOutputStream().close();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }

  /** The child: start the broker, print where it listens, wait for stdin to close. */
  public static void main(String[] args) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(new EmbeddedKafka.Settings("127.0.0.1", 0, 0, "", 4,
        Duration.ofSeconds(30), Map.of()))) {
      System.out.println("bootstrap " + kafka.bootstrapServers());
      System.out.flush();
      while (System.in.read() >= 0) {
        // until the parent closes our stdin
      }
    }
  }
}
