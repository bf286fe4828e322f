package dev.exitflow.model;

import com.typesafe.config.Config;
import java.nio.file.Path;

/** The {@code exitflow.model} section of the configuration (defaults in this module's reference.conf). */
public record ModelSettings(
    String defaultModel,
    Path cacheDir,
    int intraOpThreads,
    int interOpThreads,
    boolean allowSpinning,
    String optimizationLevel,
    int batchSize) {

  public static ModelSettings create(Config root) {
    Config c = root.getConfig("exitflow.model");
    return new ModelSettings(
        c.getString("default"),
        Path.of(c.getString("cache-dir")),
        c.getInt("onnx.intra-op-threads"),
        c.getInt("onnx.inter-op-threads"),
        c.getBoolean("onnx.allow-spinning"),
        c.getString("onnx.optimization-level"),
        c.getInt("batch-size"));
  }
}
