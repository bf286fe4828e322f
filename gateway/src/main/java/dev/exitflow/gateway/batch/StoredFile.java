package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A file as OpenAI's Files API describes it ({@code object: "file"}). */
public record StoredFile(String id, long bytes, @JsonProperty("created_at") long createdAt, String filename,
    String purpose) {
  @JsonProperty("object")
  public String object() {
    return "file";
  }

  @JsonProperty("status")
  public String status() {
    return "processed";
  }
}
