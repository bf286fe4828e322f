package dev.exitflow.actors;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueType;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The {@code exitflow.cluster} section (defaults and meanings in this module's reference.conf):
 * whether this process is a node of a Pekko Cluster, with which roles, where it listens and whom
 * it joins, which stages its workers serve, and how hidden states travel between nodes.
 */
public record ClusterSettings(boolean enabled, List<String> roles, List<String> seedNodes, boolean bootstrap,
    String host, int port, List<Integer> workerStages, WorkerMessageSerializer.Encoding hiddenStateEncoding) {
  public static final String GATEWAY = "gateway";
  public static final String WORKER = "worker";

  public static ClusterSettings create(Config root) {
    Config c = root.getConfig("exitflow.cluster");
    List<String> roles = list(c, "roles");
    for (String role : roles) {
      if (!role.equals(GATEWAY) && !role.equals(WORKER)) {
        throw new IllegalArgumentException("exitflow.cluster.roles: unknown role '" + role + "' (gateway, worker)");
      }
    }
    List<String> seeds = list(c, "seed-nodes");
    boolean bootstrap = c.getBoolean("bootstrap");
    if (bootstrap && !seeds.isEmpty()) {
      throw new IllegalArgumentException(
          "exitflow.cluster: give seed-nodes or turn bootstrap on, not both (seed-nodes " + seeds + ")");
    }
    return new ClusterSettings(c.getBoolean("enabled"), roles, seeds, bootstrap, c.getString("host"),
        c.getInt("port"), list(c, "worker-stages").stream().map(Integer::parseInt).toList(),
        WorkerMessageSerializer.Encoding.parse(c.getString("hidden-state-encoding")));
  }

  /** A list, or a comma-separated string (as environment variables give it). */
  private static List<String> list(Config c, String path) {
    if (c.getValue(path).valueType() == ConfigValueType.STRING) {
      String value = c.getString(path).trim();
      return value.isEmpty() ? List.of() : Arrays.stream(value.split(",")).map(String::trim).toList();
    }
    return c.getStringList(path);
  }

  public boolean gateway() {
    return !enabled || roles.contains(GATEWAY);
  }

  public boolean worker() {
    return !enabled || roles.contains(WORKER);
  }

  /** Whether this node's workers serve {@code stage} (0-based). */
  public boolean serves(int stage) {
    return workerStages.isEmpty() || workerStages.contains(stage + 1);
  }

  /**
   * The configuration to create this node's actor system with: the Pekko settings under {@code
   * exitflow.pekko} on top of {@code config} (however the reference.conf files were merged); in a
   * cluster also Pekko's cluster provider, roles, seed nodes and remoting address, and the Pekko
   * settings under {@code exitflow.cluster.pekko}.
   */
  public Config actorSystemConfig(Config config) {
    Config process = config.getConfig("exitflow.pekko").atKey("pekko").withFallback(config);
    if (!enabled) {
      return process;
    }
    return ConfigFactory.parseMap(Map.of(
            "pekko.actor.provider", "cluster",
            "pekko.cluster.roles", roles,
            "pekko.cluster.seed-nodes", seedNodes,
            "pekko.remote.artery.canonical.hostname", host,
            "pekko.remote.artery.canonical.port", port))
        .withFallback(config.getConfig("exitflow.cluster.pekko").atKey("pekko"))
        .withFallback(process);
  }
}
