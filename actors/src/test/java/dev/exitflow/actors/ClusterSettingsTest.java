package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterSettingsTest {
  private static Config config(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
  }

  @Test
  void listsComeAsListsOrAsCommaSeparatedStrings() {
    ClusterSettings s = ClusterSettings.create(config(
        "exitflow.cluster { roles = \"gateway, worker\", seed-nodes = \"pekko://exitflow@a:25520,pekko://exitflow@b:25520\","
            + " worker-stages = [2, 3] }"));
    assertEquals(List.of("gateway", "worker"), s.roles());
    assertEquals(List.of("pekko://exitflow@a:25520", "pekko://exitflow@b:25520"), s.seedNodes());
    assertTrue(!s.serves(0) && s.serves(1) && s.serves(2));
  }

  @Test
  void mistakesAreNamed() {
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> ClusterSettings.create(config("exitflow.cluster.roles = [frontend]"))).getMessage().contains("frontend"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ClusterSettings.create(config(
        "exitflow.cluster { bootstrap = on, seed-nodes = [\"pekko://exitflow@a:25520\"] }"))).getMessage()
        .contains("not both"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ClusterSettings.create(config(
        "exitflow.cluster.hidden-state-encoding = bfloat16"))).getMessage().contains("'bfloat16' is not float32 or float16"));
    assertEquals(WorkerMessageSerializer.Encoding.FLOAT16,
        ClusterSettings.create(config("exitflow.cluster.hidden-state-encoding = FLOAT16")).hiddenStateEncoding());
    assertEquals(WorkerMessageSerializer.Encoding.FLOAT32, ClusterSettings.create(config("")).hiddenStateEncoding());
  }

  /**
   * A shaded jar concatenates every reference.conf, so Pekko's own defaults may come after
   * Exitflow's and win; the settings a cluster node needs are put on top regardless.
   */
  @Test
  void theClusterNodesPekkoSettingsWinOverPekkosDefaultsInAnyMergeOrder() {
    Config merged = config("exitflow.cluster { enabled = on, roles = [worker], port = 0 }\n"
        + "pekko.remote.artery.large-message-destinations = []\n"
        + "pekko.remote.artery.advanced.maximum-large-frame-size = 2MiB\n");
    Config system = ClusterSettings.create(merged).actorSystemConfig(merged);
    assertEquals("cluster", system.getString("pekko.actor.provider"));
    assertEquals(List.of("worker"), system.getStringList("pekko.cluster.roles"));
    assertEquals(List.of("/system/exitflow-workers/*", "/system/exitflow-scheduler/*"),
        system.getStringList("pekko.remote.artery.large-message-destinations"));
    assertEquals(32L << 20, system.getBytes("pekko.remote.artery.advanced.maximum-large-frame-size"));
    assertEquals("exitflow-worker", system.getString("pekko.actor.serialization-bindings.\"dev.exitflow.actors.WorkerMessage\""));
    assertEquals(WorkerMessageSerializer.class.getName(), system.getString("pekko.actor.serializers.exitflow-worker"));
    assertEquals(2, system.getInt("pekko.actor.default-dispatcher.fork-join-executor.parallelism-min"));
  }

  @Test
  void everyProcessGetsExitflowsPekkoSettingsOverPekkosDefaults() {
    Config merged = config("pekko.actor.default-dispatcher.fork-join-executor.parallelism-min = 8\n"
        + "pekko.http.server.idle-timeout = 7s\n"); // Pekko's default after Exitflow's, and a setting Exitflow leaves alone
    Config system = ClusterSettings.create(merged).actorSystemConfig(merged);
    assertEquals(2, system.getInt("pekko.actor.default-dispatcher.fork-join-executor.parallelism-min"));
    assertEquals("local", system.getString("pekko.actor.provider"), "in one process, no cluster");
    assertEquals("7s", system.getString("pekko.http.server.idle-timeout"));
  }
}
