package dev.exitflow.streams.request;

import com.typesafe.config.Config;
import dev.exitflow.actors.RuntimeSettings;

/**
 * The {@code exitflow.requests} section (defaults in this module's reference.conf): how many texts
 * one request may carry and how long each may be, on every transport; in chunk mode, how many
 * tokens a request's texts may have in all and how many tokens consecutive windows share.
 *
 * <p>{@link #create(Config)} refuses a configuration in which the largest legal request could never
 * be admitted, because the runtime admits a request's inputs all together or not at all.
 */
public record RequestLimits(int maxInputs, int maxInputChars, int maxTokensPerRequest, int chunkOverlap) {

  public static RequestLimits create(Config root) {
    Config c = root.getConfig("exitflow.requests");
    RequestLimits limits = new RequestLimits(c.getInt("max-inputs"), c.getInt("max-input-chars"),
        c.getInt("max-tokens-per-request"), c.getInt("chunk-overlap"));
    limits.checkAdmissible(RuntimeSettings.create(root));
    return limits;
  }

  /** Throws IllegalArgumentException naming the keys when a request of {@code max-inputs} inputs cannot fit. */
  public void checkAdmissible(RuntimeSettings runtime) {
    check(runtime.firstStageQueueCapacity(), "exitflow.actors.admission.first-stage-queue-capacity");
    check(runtime.maxInFlight(), "exitflow.actors.admission.max-in-flight");
  }

  private void check(int room, String key) {
    if (maxInputs > room) {
      throw new IllegalArgumentException("exitflow.requests.max-inputs = " + maxInputs + " exceeds " + key + " = "
          + room + ": a request of " + maxInputs + " inputs could never be admitted, even by an idle server. "
          + "Raise " + key + " or lower exitflow.requests.max-inputs.");
    }
  }
}
