package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.streams.request.ErrorCode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Checks a batch input file before anything is computed, as OpenAI does: every non-blank line is a
 * JSON object with a string {@code custom_id} (unique in the file), {@code "method": "POST"},
 * {@code url} equal to the batch's endpoint, and an object {@code body}. Memory stays small: ids
 * are compared by 64-bit hashes in one sorted array (a clash of two different ids is reported as a
 * duplicate: about one in 10^8 for a million lines).
 */
final class BatchValidator {
  private static final int MAX_ERRORS = 20;

  private BatchValidator() {}

  /** What the validation found: the number of requests, and the errors (none if valid). */
  record Result(long requests, ArrayNode errors) {
    boolean valid() {
      return errors.isEmpty();
    }
  }

  static Result validate(Path file, String endpoint) throws IOException {
    ArrayNode errors = FileStore.JSON.createArrayNode();
    long[] hashes = new long[1024];
    int n = 0;
    long lineNumber = 0;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line; (line = in.readLine()) != null && errors.size() < MAX_ERRORS; ) {
        lineNumber++;
        if (line.isBlank()) {
          continue;
        }
        JsonNode json;
        try {
          json = FileStore.JSON.readTree(line);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          error(errors, lineNumber, "not a JSON object: " + e.getOriginalMessage());
          continue;
        }
        String problem = problem(json, endpoint);
        if (problem != null) {
          error(errors, lineNumber, problem);
          continue;
        }
        if (n == hashes.length) {
          hashes = Arrays.copyOf(hashes, n * 2);
        }
        hashes[n++] = hash(json.get("custom_id").asText());
      }
    } catch (java.nio.charset.MalformedInputException e) {
      error(errors, lineNumber + 1, "the line is not valid UTF-8");
    }
    long[] sorted = Arrays.copyOf(hashes, n);
    Arrays.sort(sorted);
    for (int i = 1; i < n && errors.size() < MAX_ERRORS; i++) {
      if (sorted[i] == sorted[i - 1]) {
        error(errors, null, "custom_id values must be unique in a batch; at least two lines share one");
        break;
      }
    }
    return new Result(n, errors);
  }

  /** What is wrong with a line's parsed JSON, or null. */
  private static String problem(JsonNode json, String endpoint) {
    if (json == null || !json.isObject()) {
      return "not a JSON object";
    }
    if (!json.path("custom_id").isTextual()) {
      return "custom_id must be a string";
    }
    if (!json.path("method").asText().equals("POST")) {
      return "method must be \"POST\"";
    }
    if (!json.path("url").asText().equals(endpoint)) {
      return "url must be \"" + endpoint + "\", the batch's endpoint";
    }
    if (!json.path("body").isObject()) {
      return "body must be a JSON object (the request of " + endpoint + ")";
    }
    return null;
  }

  private static void error(ArrayNode errors, Long line, String message) {
    ObjectNode e = errors.addObject().put("code", ErrorCode.INVALID_BATCH.code())
        .put("message", line == null ? message : "line " + line + ": " + message);
    e.putNull("param");
    if (line == null) {
      e.putNull("line");
    } else {
      e.put("line", line);
    }
  }

  /** 64-bit FNV-1a. */
  private static long hash(String s) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < s.length(); i++) {
      h ^= s.charAt(i);
      h *= 0x100000001b3L;
    }
    return h;
  }
}
