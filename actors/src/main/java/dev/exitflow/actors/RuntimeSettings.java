package dev.exitflow.actors;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import dev.exitflow.model.ModelSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The {@code exitflow.actors} section of the configuration (defaults in this module's reference.conf). */
public record RuntimeSettings(
    String inferenceDispatcher,
    int workersPerStage,
    int firstStageQueueCapacity,
    int maxInFlight,
    Batching batching,
    Controller controller,
    Duration askTimeout,
    Duration drainTimeout,
    int lostBatchRetries,
    Map<Integer, List<String>> stageProviders,
    List<Integer> workerDevices,
    boolean autoUsesUncalibratedExits) {

  public record Batching(int maxBatchSize, int maxPaddedTokens, Duration maxQueueDelay) {}

  public record Controller(Duration interval, Duration targetQueueDelay, double lowerAbove, double raiseBelow, double step) {}

  /**
   * The model settings one worker opens its session with: its stage's providers if configured, on
   * its own device if workers spread over several.
   */
  public ModelSettings forWorker(ModelSettings model, int stage, int worker) {
    ModelSettings.ExecutionProviders providers = model.providers();
    List<String> order = stageProviders.get(stage + 1);
    if (order != null) {
      providers = providers.withOrder(order);
    }
    if (!workerDevices.isEmpty()) {
      providers = providers.onDevice(workerDevices.get(worker % workerDevices.size()));
    }
    return model.withProviders(providers);
  }

  private static Map<Integer, List<String>> stageProviders(Config c) {
    Map<Integer, List<String>> byStage = new TreeMap<>();
    for (String stage : c.root().keySet()) {
      try {
        byStage.put(Integer.parseInt(stage), c.getStringList(ConfigUtil.quoteString(stage)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("exitflow.actors.stage-providers: '" + stage + "' is not a stage number", e);
      }
    }
    return Map.copyOf(byStage);
  }

  public static RuntimeSettings create(Config root) {
    Config c = root.getConfig("exitflow.actors");
    return new RuntimeSettings(
        c.getString("inference-dispatcher"),
        c.getInt("workers-per-stage"),
        c.getInt("admission.first-stage-queue-capacity"),
        c.getInt("admission.max-in-flight"),
        new Batching(
            c.getInt("batching.max-batch-size"),
            c.getInt("batching.max-padded-tokens"),
            c.getDuration("batching.max-queue-delay")),
        new Controller(
            c.getDuration("depth-controller.interval"),
            c.getDuration("depth-controller.target-queue-delay"),
            c.getDouble("depth-controller.lower-above"),
            c.getDouble("depth-controller.raise-below"),
            c.getDouble("depth-controller.step")),
        c.getDuration("ask-timeout"),
        c.getDuration("drain-timeout"),
        c.getInt("lost-batch-retries"),
        stageProviders(c.getConfig("stage-providers")),
        c.getIntList("worker-devices"),
        c.getBoolean("auto-uses-uncalibrated-exits"));
  }
}
