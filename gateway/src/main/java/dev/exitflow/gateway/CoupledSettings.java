package dev.exitflow.gateway;

import com.typesafe.config.Config;
import dev.exitflow.actors.ClusterSettings;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.RuntimeSettings;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.streams.kafka.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * Settings that only make sense together, checked when {@code serve} starts (before anything runs):
 * each mismatch is an IllegalArgumentException naming both keys and their values.
 * <ul>
 *   <li>the blocking inference dispatcher has a thread for each stage worker this node runs
 *       ({@code fixed-pool-size} of {@code exitflow.actors.inference-dispatcher} against stages x
 *       {@code exitflow.actors.workers-per-stage}): a worker without one waits for another's batch;
 *   <li>the Kafka pipeline's {@code exitflow.kafka.parallelism} stays under {@code
 *       exitflow.actors.admission.first-stage-queue-capacity}, so HTTP requests keep room;
 *   <li>coordinated shutdown's phases outlast what runs in them: {@code service-unbind} the HTTP
 *       drain ({@code exitflow.gateway.shutdown-deadline}), {@code service-stop} the runtime's
 *       ({@code exitflow.actors.drain-timeout}).
 * </ul>
 */
public final class CoupledSettings {
  static final String PHASES = "pekko.coordinated-shutdown.phases";

  private CoupledSettings() {}

  /** Throws IllegalArgumentException listing every mismatch, each with the keys to change. */
  public static void check(Config config, ModelDescriptor model, GatewaySettings gateway) {
    RuntimeSettings runtime = RuntimeSettings.create(config);
    ClusterSettings cluster = ClusterSettings.create(config);
    List<String> problems = new ArrayList<>();
    int stages = stages(config, model);
    int workers = cluster.enabled() && !cluster.worker() ? 0
        : (int) IntStream.range(0, stages).filter(s -> !cluster.enabled() || cluster.serves(s)).count()
            * runtime.workersPerStage();
    dispatcher(config, runtime, workers, stages).ifPresent(problems::add);
    if (gateway.kafka() && cluster.gateway()) {
      int parallelism = KafkaSettings.create(config).parallelism();
      if (parallelism >= runtime.firstStageQueueCapacity()) {
        problems.add("exitflow.kafka.parallelism = " + parallelism + " is not under "
            + "exitflow.actors.admission.first-stage-queue-capacity = " + runtime.firstStageQueueCapacity()
            + ": the Kafka pipeline alone could fill the first stage's queue and leave HTTP requests no room. "
            + "Lower exitflow.kafka.parallelism or raise the capacity.");
      }
    }
    if (cluster.gateway()) {
      phase(config, "service-unbind", "exitflow.gateway.shutdown-deadline", gateway.shutdownDeadline(),
          "the HTTP drain").ifPresent(problems::add);
      phase(config, "service-stop", "exitflow.actors.drain-timeout", runtime.drainTimeout(), "the runtime's drain")
          .ifPresent(problems::add);
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", problems));
    }
  }

  /** The stages of the model as served: the plan's exits when {@code exitflow.model.plan} names one, and the reserve exit. */
  private static int stages(Config config, ModelDescriptor model) {
    try {
      return EncoderRuntime.servedPlan(model, config).apply(model).exitLayers().size();
    } catch (RuntimeException e) {
      return model.exitLayers().size(); // the runtime reports what is wrong with the plan
    }
  }

  private static Optional<String> dispatcher(Config config, RuntimeSettings runtime, int workers,
      int stages) {
    String path = runtime.inferenceDispatcher();
    String key = path + ".thread-pool-executor.fixed-pool-size";
    if (workers == 0 || !config.hasPath(key) || !config.hasPath(path + ".executor")
        || !config.getString(path + ".executor").equals("thread-pool-executor")) {
      return Optional.empty();
    }
    int pool;
    try {
      pool = config.getInt(key);
    } catch (RuntimeException e) {
      return Optional.empty(); // "off": Pekko sizes the pool from core-pool-size-*
    }
    if (pool >= workers) {
      return Optional.empty();
    }
    return Optional.of(key + " = " + pool + " is less than the " + workers + " stage workers this node runs "
        + "(" + stages + " stages x exitflow.actors.workers-per-stage = " + runtime.workersPerStage()
        + "): a worker without a thread waits for another's batch. Raise the pool size to at least " + workers
        + " or lower exitflow.actors.workers-per-stage.");
  }

  private static Optional<String> phase(Config config, String phase, String key, Duration inside,
      String what) {
    String timeout = PHASES + "." + phase + ".timeout";
    if (!config.hasPath(timeout)) {
      return Optional.empty();
    }
    Duration limit = config.getDuration(timeout);
    if (limit.compareTo(inside) > 0) {
      return Optional.empty();
    }
    return Optional.of(timeout + " = " + limit.toMillis() + "ms does not outlast " + key + " = "
        + inside.toMillis() + "ms: coordinated shutdown would cut " + what + " short. Raise " + timeout
        + " above " + key + ".");
  }
}
