package dev.exitflow.streams.kafka;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import dev.exitflow.streams.data.DirectoryLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka broker (KRaft: broker and controller in one process) inside this JVM, bound
 * to one address only (loopback by default). The storage is formatted with Kafka's own
 * {@code StorageTool} the first time a directory is used, then a {@code KafkaRaftServer} runs on
 * it; {@link #start} returns once an admin client sees the broker. Ports chosen at the first start
 * are kept, so {@link #stopBroker()} and {@link #startBroker()} simulate a broker restart at the
 * same address.
 *
 * <p>A configured data directory is durable: it is locked against a second process ({@link
 * DirectoryLock}), formatted once, and every later start — after a clean stop or a crash — reuses
 * its log and its cluster id, so acknowledged records survive restarts. Only an empty
 * {@code data-dir} gives a temporary directory, deleted at {@link #close()} (for tests).
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);

  /** {@code exitflow.kafka.embedded}. */
  public record Settings(String host, int port, int controllerPort, String dataDir, int partitions,
      Duration startTimeout, Map<String, String> brokerProperties) {
    public static Settings create(Config c) {
      return new Settings(c.getString("host"), c.getInt("port"), c.getInt("controller-port"),
          c.getString("data-dir"), c.getInt("partitions"), c.getDuration("start-timeout"),
          Map.copyOf(KafkaSettings.properties(c.getConfig("broker-properties"))));
    }
  }

  private final Settings settings;
  private final Path dataDir;
  private final boolean temporary;
  private final int port;
  private final int controllerPort;
  private final DirectoryLock lock;
  private KafkaRaftServer server;

  private EmbeddedKafka(Settings settings, Path dataDir, boolean temporary, int port, int controllerPort,
      DirectoryLock lock) {
    this.settings = settings;
    this.dataDir = dataDir;
    this.temporary = temporary;
    this.port = port;
    this.controllerPort = controllerPort;
    this.lock = lock;
  }

  /** Starts the broker configured under {@code exitflow.kafka.embedded}. */
  public static EmbeddedKafka start(Config config) {
    return start(KafkaSettings.create(config).embedded());
  }

  public static EmbeddedKafka start(Settings settings) {
    boolean temporary = settings.dataDir().isBlank();
    DirectoryLock lock = null;
    try {
      Path dir = temporary ? Files.createTempDirectory("exitflow-kafka-") : Path.of(settings.dataDir()).toAbsolutePath();
      lock = DirectoryLock.acquire(dir); // before touching the log: a second process must not format or open it
      int[] free = freePorts(settings.host()); // two at once: asked one by one, both could be the same
      int port = settings.port() != 0 ? settings.port() : free[0];
      int controllerPort = settings.controllerPort() != 0 ? settings.controllerPort() : free[1];
      EmbeddedKafka kafka = new EmbeddedKafka(settings, dir, temporary, port, controllerPort, lock);
      try {
        kafka.format();
        kafka.startBroker();
      } catch (RuntimeException e) {
        kafka.close();
        throw e;
      }
      return kafka;
    } catch (IOException e) {
      if (lock != null) {
        lock.close();
      }
      throw new UncheckedIOException(e);
    }
  }

  /** Where the broker keeps its log (and its cluster id). */
  public Path dataDir() {
    return dataDir;
  }

  public String bootstrapServers() {
    return settings.host() + ":" + port;
  }

  /** Starts the broker again after {@link #stopBroker()}, on the same ports and log. */
  public synchronized void startBroker() {
    if (server != null) {
      return;
    }
    long t0 = System.nanoTime();
    KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(properties(), false), Time.SYSTEM);
    s.startup();
    server = s;
    awaitReady();
    log.info("Embedded Kafka broker ready at {} in {} ms (log in {})", bootstrapServers(),
        (System.nanoTime() - t0) / 1_000_000, dataDir);
  }

  /** Stops the broker (controlled shutdown) but keeps its log, for {@link #startBroker()}. */
  public synchronized void stopBroker() {
    if (server == null) {
      return;
    }
    server.shutdown();
    server.awaitShutdown();
    server = null;
  }

  @Override
  public void close() {
    try {
      stopBroker();
    } finally {
      lock.close();
      deleteIfTemporary();
    }
  }

  private void deleteIfTemporary() {
    if (temporary) {
      try (Stream<Path> files = Files.walk(dataDir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        log.warn("Could not delete {}: {}", dataDir, e.toString());
      }
    }
  }

  private Properties properties() {
    String host = settings.host();
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@" + host + ":" + controllerPort);
    p.put("listeners", "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", dataDir.resolve("log").toString());
    p.put("num.partitions", String.valueOf(settings.partitions()));
    p.put("auto.create.topics.enable", "true");
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "4");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("log.flush.interval.messages", "1000000");
    p.putAll(settings.brokerProperties());
    return p;
  }

  /**
   * Formats the log directory the first time; a directory formatted before (meta.properties
   * exists) keeps its cluster id and its data, and is not formatted again.
   */
  private void format() throws IOException {
    Path file = dataDir.resolve("server.properties");
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      properties().store(w, "Exitflow embedded Kafka broker (written at every start)");
    }
    Path meta = dataDir.resolve("log").resolve("meta.properties");
    if (Files.exists(meta)) {
      log.info("Embedded Kafka broker reuses its log in {} (cluster id {})", dataDir, clusterId(meta));
      return;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc = StorageTool.execute(new String[] {"format", "--cluster-id", Uuid.randomUuid().toString(),
        "--config", file.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8));
    if (rc != 0) {
      throw new IllegalStateException("kafka storage format failed (" + rc + "): " + out.toString(StandardCharsets.UTF_8));
    }
  }

  private static String clusterId(Path meta) throws IOException {
    Matcher m = Pattern.compile("(?m)^cluster\\.id=(.*)$").matcher(Files.readString(meta, StandardCharsets.UTF_8));
    return m.find() ? m.group(1).trim() : "unknown";
  }

  private void awaitReady() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    long deadline = System.nanoTime() + settings.startTimeout().toNanos();
    try (Admin admin = Admin.create(p)) {
      while (true) {
        try {
          if (!admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
        } catch (Exception e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("embedded Kafka broker not ready at " + bootstrapServers()
                + " after " + settings.startTimeout(), e);
          }
        }
      }
    }
  }

  private static int[] freePorts(String host) throws IOException {
    try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getByName(host));
        ServerSocket b = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return new int[] {a.getLocalPort(), b.getLocalPort()};
    }
  }
}
