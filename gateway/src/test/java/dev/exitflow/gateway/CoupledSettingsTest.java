package dev.exitflow.gateway;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import org.junit.jupiter.api.Test;

/** Settings coupled only by comments are refused at start-up with a message naming both keys. */
class CoupledSettingsTest {
  private static final String POOL = "exitflow.actors.blocking-inference-dispatcher.thread-pool-executor.fixed-pool-size";

  private static Config config(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
  }

  private static void check(Config config) {
    ModelDescriptor model = new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2");
    CoupledSettings.check(config, model, GatewaySettings.create(config));
  }

  private static String refusal(String overrides) {
    return assertThrows(IllegalArgumentException.class, () -> check(config(overrides))).getMessage();
  }

  @Test
  void theDefaultsAgree() {
    assertDoesNotThrow(() -> check(config("")));
  }

  @Test
  void aDispatcherPoolSmallerThanTheWorkersIsRefused() {
    ModelDescriptor model = new ModelRepository(ModelSettings.create(config(""))).resolve("all-minilm-l6-v2");
    int stages = EncoderRuntime.servedPlan(model, config("")).apply(model).exitLayers().size(); // the reserve exit's too
    String m = refusal("exitflow.actors.workers-per-stage = 2\n" + POOL + " = " + (2 * stages - 1));
    assertTrue(m.contains(POOL + " = " + (2 * stages - 1)) && m.contains("exitflow.actors.workers-per-stage = 2")
        && m.contains(stages + " stages"), m);
    assertDoesNotThrow(() -> check(config("exitflow.actors.workers-per-stage = 2\n" + POOL + " = " + 2 * stages)));
    // a gateway-only cluster node runs no workers
    assertDoesNotThrow(() -> check(config("exitflow.actors.workers-per-stage = 2\n" + POOL + " = 1\n"
        + "exitflow.cluster { enabled = on, roles = [gateway] }")));
  }

  @Test
  void kafkaParallelismMustStayUnderTheQueueCapacity() {
    String m = refusal("exitflow.kafka.parallelism = 4096");
    assertTrue(m.contains("exitflow.kafka.parallelism = 4096")
        && m.contains("exitflow.actors.admission.first-stage-queue-capacity = 4096"), m);
    assertDoesNotThrow(() -> check(config("exitflow.kafka.parallelism = 4096\nexitflow.gateway.kafka = off")));
  }

  @Test
  void shutdownPhasesMustOutlastTheDrains() {
    String unbind = refusal("exitflow.gateway.shutdown-deadline = 30s");
    assertTrue(unbind.contains("pekko.coordinated-shutdown.phases.service-unbind.timeout = 30000ms")
        && unbind.contains("exitflow.gateway.shutdown-deadline = 30000ms"), unbind);
    String stop = refusal("exitflow.actors.drain-timeout = 45s");
    assertTrue(stop.contains("pekko.coordinated-shutdown.phases.service-stop.timeout = 40000ms")
        && stop.contains("exitflow.actors.drain-timeout = 45000ms"), stop);
  }
}
