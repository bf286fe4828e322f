package dev.exitflow.actors;

import com.typesafe.config.Config;
import java.time.Duration;

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
    int lostBatchRetries) {

  public record Batching(int maxBatchSize, int maxPaddedTokens, Duration maxQueueDelay) {}

  public record Controller(Duration interval, Duration targetQueueDelay, double lowerAbove, double raiseBelow, double step) {}

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
        c.getInt("lost-batch-retries"));
  }
}
