package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/**
 * A batch as OpenAI's Batch API describes it ({@code object: "batch"}), kept as the JSON object
 * itself so that what is stored, listed and returned is one thing. Statuses: {@code validating},
 * {@code in_progress}, {@code finalizing}, {@code completed}, {@code failed}, {@code expired},
 * {@code cancelling}, {@code cancelled}; each change stamps its {@code *_at} field.
 */
final class BatchState {
  static final Set<String> UNFINISHED = Set.of("validating", "in_progress", "finalizing", "cancelling");
  private static final String[] STAMPS = {"in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at",
      "expired_at", "cancelling_at", "cancelled_at"};

  private BatchState() {}

  static ObjectNode create(String id, String inputFileId, String endpoint, String window, Duration length,
      JsonNode metadata) {
    long now = Instant.now().getEpochSecond();
    ObjectNode b = FileStore.JSON.createObjectNode()
        .put("id", id).put("object", "batch").put("endpoint", endpoint);
    b.putNull("errors");
    b.put("input_file_id", inputFileId).put("completion_window", window).put("status", "validating");
    b.putNull("output_file_id");
    b.putNull("error_file_id");
    b.put("created_at", now);
    for (String stamp : STAMPS) {
      b.putNull(stamp);
    }
    b.put("expires_at", now + length.toSeconds());
    counts(b, 0, 0, 0);
    if (metadata != null && metadata.isObject()) {
      b.set("metadata", metadata);
    } else {
      b.putNull("metadata");
    }
    return b;
  }

  static String status(JsonNode b) {
    return b.path("status").asText();
  }

  /** Sets the status and stamps it ({@code in_progress} -> {@code in_progress_at}...). */
  static void status(ObjectNode b, String status) {
    b.put("status", status);
    String stamp = status + "_at";
    if (b.has(stamp)) {
      b.put(stamp, Instant.now().getEpochSecond());
    }
  }

  static void counts(ObjectNode b, long total, long completed, long failed) {
    b.putObject("request_counts").put("total", total).put("completed", completed).put("failed", failed);
  }
}
