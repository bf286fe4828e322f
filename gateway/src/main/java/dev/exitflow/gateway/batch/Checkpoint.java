package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How far a batch got, written after the lines it counts are in the output and error files: the
 * input lines done (blank ones included), the two files' lengths at that point, and the counts.
 * A restart truncates the files to these lengths and goes on after {@code line}, so each line's
 * result appears exactly once.
 */
record Checkpoint(long line, @JsonProperty("output_bytes") long outputBytes,
    @JsonProperty("error_bytes") long errorBytes, long completed, long failed) {
  static final Checkpoint START = new Checkpoint(0, 0, 0, 0, 0);
}
