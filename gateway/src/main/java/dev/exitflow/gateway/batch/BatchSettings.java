package dev.exitflow.gateway.batch;

import com.typesafe.config.Config;
import java.time.Duration;

/** {@code exitflow.batch} (defaults in the gateway module's reference.conf). */
public record BatchSettings(boolean enabled, long maxFileBytes, int parallelism, Duration checkpointInterval) {
  public static BatchSettings create(Config root) {
    Config c = root.getConfig("exitflow.batch");
    return new BatchSettings(c.getBoolean("enabled"), c.getBytes("max-file-bytes"), c.getInt("parallelism"),
        c.getDuration("checkpoint-interval"));
  }
}
