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
    int batchesPerWorker,
    int threadsPerRun,
    int busyWorkersPerNode,
    int batchesAheadPerNode,
    int firstStageQueueCapacity,
    int maxInFlight,
    Admission admission,
    Batching batching,
    Controller controller,
    Duration askTimeout,
    Duration drainTimeout,
    int lostBatchRetries,
    Map<Integer, List<String>> stageProviders,
    List<Integer> workerDevices,
    boolean autoUsesUncalibratedExits,
    int reserveExitLayer) {

  /**
   * Deadline-aware admission of {@code auto} requests: see {@code Admission}; the share of the
   * deadline a prediction may take starts at {@code predictedShare} and follows lateness between
   * {@code minShare} and {@code maxShare}, and returns towards where it started while the runtime
   * is idle, with time constant {@code idleRelaxation} (zero: never): see {@code DeadlineShare}.
   */
  public record Admission(Duration defaultDeadline, double predictedShare, double lateAt, double lateFraction,
      double minShare, double maxShare, double step, Duration idleRelaxation) {}

  public record Batching(int maxBatchSize, int maxPaddedTokens, Duration maxQueueDelay, Duration interactiveSlack,
      Duration bulkSlack, int bulkBesideInteractive, int bulkBatchSizeBesideInteractive,
      int bulkPaddedTokensBesideInteractive, double maxPaddingShare, int maxBatchSizeWithDeadline) {
    /**
     * Limits with the default slacks and bulk share, no limit on padding and one batch size for
     * all, for tests and tools that set only the batch shape.
     */
    public Batching(int maxBatchSize, int maxPaddedTokens, Duration maxQueueDelay) {
      this(maxBatchSize, maxPaddedTokens, maxQueueDelay, Duration.ofMillis(250), Duration.ofSeconds(10), 1,
          maxBatchSize, maxPaddedTokens, 1.0, maxBatchSize);
    }

    /** How long after its arrival a request without a deadline counts as due. */
    public long slackNanos(Priority priority) {
      return (priority == Priority.BULK ? bulkSlack : interactiveSlack).toNanos();
    }
  }

  public record Controller(Duration interval, Duration targetQueueDelay, Duration smoothing, double proportional,
      double integral, double recoveryShare, double maxError, double targetUtilization, double feedForwardAbove) {}

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

  /**
   * The configured budget; negative: no limit; 0: as many runs as this machine's cores hold. On the
   * CPU that is the cores over the threads one run takes ({@code threads-per-run}, or with that at 0
   * {@code exitflow.model.onnx.intra-op-threads}, where 0 is ONNX Runtime's one per core, so one run
   * at a time: every session then shares ONNX Runtime's pool, and a second run beside it only adds
   * threads on the same cores). With a GPU provider configured (for the model or any stage), runs
   * mostly wait on the device: one per core.
   */
  private static int busyWorkersPerNode(int configured, int threadsPerRun, ModelSettings model,
      Map<Integer, List<String>> stageProviders) {
    if (configured != 0) {
      return configured;
    }
    int cores = Runtime.getRuntime().availableProcessors();
    boolean cpuOnly = model.providers().order().stream().allMatch("cpu"::equalsIgnoreCase)
        && stageProviders.values().stream().flatMap(List::stream).allMatch("cpu"::equalsIgnoreCase);
    if (!cpuOnly) {
      return cores;
    }
    int threads = threadsPerRun > 0 ? threadsPerRun : model.intraOpThreads();
    return threads <= 0 ? 1 : Math.max(1, cores / threads);
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
    Map<Integer, List<String>> stageProviders = stageProviders(c.getConfig("stage-providers"));
    int threadsPerRun = c.getInt("threads-per-run");
    return new RuntimeSettings(
        c.getString("inference-dispatcher"),
        c.getInt("workers-per-stage"),
        c.getInt("batches-per-worker"),
        threadsPerRun,
        busyWorkersPerNode(c.getInt("busy-workers-per-node"), threadsPerRun, ModelSettings.create(root),
            stageProviders),
        c.getInt("batches-ahead-per-node"),
        c.getInt("admission.first-stage-queue-capacity"),
        c.getInt("admission.max-in-flight"),
        new Admission(
            c.getDuration("admission.auto-deadline"),
            c.getDouble("admission.predicted-share-of-deadline"),
            c.getDouble("admission.share-follows-lateness.late-at"),
            c.getDouble("admission.share-follows-lateness.late-fraction"),
            c.getDouble("admission.share-follows-lateness.min-share"),
            c.getDouble("admission.share-follows-lateness.max-share"),
            c.getDouble("admission.share-follows-lateness.step"),
            c.getDuration("admission.share-follows-lateness.idle-relaxation")),
        new Batching(
            c.getInt("batching.max-batch-size"),
            c.getInt("batching.max-padded-tokens"),
            c.getDuration("batching.max-queue-delay"),
            c.getDuration("batching.slack-without-deadline.interactive"),
            c.getDuration("batching.slack-without-deadline.bulk"),
            c.getInt("batching.bulk-batches-beside-interactive"),
            c.getInt("batching.bulk-batch-size-beside-interactive"),
            c.getInt("batching.bulk-padded-tokens-beside-interactive"),
            c.getDouble("batching.max-padding-share"),
            c.getInt("batching.max-batch-size-with-deadline")),
        new Controller(
            c.getDuration("depth-controller.interval"),
            c.getDuration("depth-controller.target-queue-delay"),
            c.getDuration("depth-controller.smoothing"),
            c.getDouble("depth-controller.proportional"),
            c.getDouble("depth-controller.integral"),
            c.getDouble("depth-controller.recovery-share"),
            c.getDouble("depth-controller.max-error"),
            c.getDouble("depth-controller.target-utilization"),
            c.getDouble("depth-controller.feed-forward-above")),
        c.getDuration("ask-timeout"),
        c.getDuration("drain-timeout"),
        c.getInt("lost-batch-retries"),
        stageProviders,
        c.getIntList("worker-devices"),
        c.getBoolean("auto-uses-uncalibrated-exits"),
        c.getInt("reserve-exit-layer"));
  }
}
