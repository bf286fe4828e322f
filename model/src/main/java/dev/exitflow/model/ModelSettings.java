package dev.exitflow.model;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code exitflow.model} section of the configuration (defaults in this module's reference.conf),
 * and {@code stageSessionThreads}, which the actor runtime sets for its workers
 * ({@link #withStageSessionThreads}; 0 from the configuration).
 */
public record ModelSettings(
    String defaultModel,
    Path cacheDir,
    int intraOpThreads,
    int interOpThreads,
    boolean allowSpinning,
    String optimizationLevel,
    String stageOptimizationLevel,
    int batchSize,
    int batchTokens,
    boolean adaptersEnabled,
    double adapterPenalty,
    boolean poolInOnnxRuntime,
    ExecutionProviders providers,
    String plan,
    int stageSessionThreads) {

  /** Which execution providers to try, in order, and their options. */
  public record ExecutionProviders(List<String> order, boolean strict, int cudaDevice, int tensorrtDevice,
      boolean tensorrtFp16, String tensorrtCacheDir, long tensorrtWorkspaceBytes) {
    /** These options with another order of providers. */
    public ExecutionProviders withOrder(List<String> providers) {
      return new ExecutionProviders(providers, strict, cudaDevice, tensorrtDevice, tensorrtFp16, tensorrtCacheDir,
          tensorrtWorkspaceBytes);
    }

    /** These options on another GPU (CUDA and TensorRT alike). */
    public ExecutionProviders onDevice(int device) {
      return new ExecutionProviders(order, strict, device, device, tensorrtFp16, tensorrtCacheDir, tensorrtWorkspaceBytes);
    }
  }

  /** The same settings with adapters switched on or off (e.g. to compare an exit with and without). */
  public ModelSettings withAdapters(boolean enabled) {
    return new ModelSettings(defaultModel, cacheDir, intraOpThreads, interOpThreads, allowSpinning, optimizationLevel,
        stageOptimizationLevel, batchSize, batchTokens, enabled, adapterPenalty, poolInOnnxRuntime, providers, plan,
        stageSessionThreads);
  }

  /** The same settings with layer features pooled, and adapters applied, in ONNX Runtime or in Java. */
  public ModelSettings withPoolingInOnnxRuntime(boolean on) {
    return new ModelSettings(defaultModel, cacheDir, intraOpThreads, interOpThreads, allowSpinning, optimizationLevel,
        stageOptimizationLevel, batchSize, batchTokens, adaptersEnabled, adapterPenalty, on, providers, plan,
        stageSessionThreads);
  }

  /**
   * The same settings with stage sessions that have {@code threads} threads of their own instead of
   * sharing the global pool (0: share it): what the actor runtime's workers run with, several
   * batches at once, each on its own threads (exitflow.actors.threads-per-run).
   */
  public ModelSettings withStageSessionThreads(int threads) {
    return new ModelSettings(defaultModel, cacheDir, intraOpThreads, interOpThreads, allowSpinning, optimizationLevel,
        stageOptimizationLevel, batchSize, batchTokens, adaptersEnabled, adapterPenalty, poolInOnnxRuntime, providers,
        plan, threads);
  }

  /** The same settings with other execution providers (e.g. for one worker on its own device). */
  public ModelSettings withProviders(ExecutionProviders other) {
    return new ModelSettings(defaultModel, cacheDir, intraOpThreads, interOpThreads, allowSpinning, optimizationLevel,
        stageOptimizationLevel, batchSize, batchTokens, adaptersEnabled, adapterPenalty, poolInOnnxRuntime, other, plan,
        stageSessionThreads);
  }

  /** A list, or a comma-separated string as EXITFLOW_PROVIDERS gives it ("cuda,cpu"). */
  private static List<String> providers(Config c) {
    if (c.getValue("onnx.providers").valueType() == ConfigValueType.STRING) {
      return Arrays.stream(c.getString("onnx.providers").split(",")).map(String::trim).filter(p -> !p.isEmpty()).toList();
    }
    return c.getStringList("onnx.providers");
  }

  public static ModelSettings create(Config root) {
    Config c = root.getConfig("exitflow.model");
    return new ModelSettings(
        c.getString("default"),
        Path.of(c.getString("cache-dir")),
        c.getInt("onnx.intra-op-threads"),
        c.getInt("onnx.inter-op-threads"),
        c.getBoolean("onnx.allow-spinning"),
        c.getString("onnx.optimization-level"),
        c.getString("onnx.stage-optimization-level"),
        c.getInt("batch-size"),
        c.getInt("batch-tokens"),
        c.getBoolean("adapters.enabled"),
        c.getDouble("adapters.penalty"),
        c.getBoolean("adapters.pool-in-onnx-runtime"),
        new ExecutionProviders(
            providers(c),
            c.getBoolean("onnx.strict-providers"),
            c.getInt("onnx.cuda.device-id"),
            c.getInt("onnx.tensorrt.device-id"),
            c.getBoolean("onnx.tensorrt.fp16"),
            c.getString("onnx.tensorrt.engine-cache-dir"),
            c.getBytes("onnx.tensorrt.max-workspace-size")),
        c.getString("plan"),
        0);
  }
}
