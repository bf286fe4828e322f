package dev.exitflow.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.http.GatewaySettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code exitflow batch}: a batch job on a running server through its OpenAI-compatible Files and
 * Batch API — uploads the file, creates the batch, follows it with a progress bar, downloads the
 * output (and the errors, if any). The job runs in the server and survives its restarts; a second
 * {@code batch --id} follows one already created.
 */
@Command(name = "batch", mixinStandardHelpOptions = true,
    description = "Run a JSONL batch file (OpenAI's batch format for /v1/embeddings) on a running server and "
        + "download its output.")
final class BatchCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--in", description = "Input JSONL: {\"custom_id\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", "
      + "\"body\": {...}} per line")
  Path in;

  @Option(names = "--id", description = "Follow this batch instead of creating one")
  String id;

  @Option(names = "--out", required = true, description = "Where the output goes; errors go to OUT.errors.jsonl")
  Path out;

  @Option(names = "--completion-window", defaultValue = "24h", description = "When the batch expires if not done: "
      + "24h, or shorter such as 90m (default: ${DEFAULT-VALUE})")
  String completionWindow;

  @Option(names = "--server", description = "Server address; default: http://exitflow.gateway.host:port")
  String server;

  @Option(names = "--api-key", description = "Bearer key, when the server has one (default: $EXITFLOW_API_KEY)")
  String apiKey = System.getenv("EXITFLOW_API_KEY");

  private final HttpClient http = HttpClient.newHttpClient();

  @Override
  public Integer call() throws Exception {
    if ((in == null) == (id == null)) {
      throw new IllegalArgumentException("give --in FILE to run a new batch, or --id BATCH to follow one");
    }
    if (server == null) {
      GatewaySettings s = GatewaySettings.create(ConfigFactory.load());
      server = "http://" + s.host() + ":" + s.port();
    }
    String batchId = id != null ? id : create();
    JsonNode batch = follow(batchId);
    String status = batch.path("status").asText();
    long completed = batch.path("request_counts").path("completed").asLong();
    long failed = batch.path("request_counts").path("failed").asLong();
    download(batch.path("output_file_id"), out);
    download(batch.path("error_file_id"), Path.of(out + ".errors.jsonl"));
    System.err.printf("batch %s %s: %d completed, %d failed; output in %s%n", batchId, status, completed, failed, out);
    if (!batch.path("errors").isNull() && !batch.path("errors").isMissingNode()) {
      System.err.println("errors: " + batch.path("errors").path("data"));
    }
    return status.equals("completed") ? 0 : 1;
  }

  private String create() throws Exception {
    String boundary = "exitflow-" + UUID.randomUUID();
    String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
        + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + in.getFileName()
        + "\"\r\nContent-Type: application/jsonl\r\n\r\n";
    HttpRequest upload = request("/v1/files").header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.concat(HttpRequest.BodyPublishers.ofString(head),
            HttpRequest.BodyPublishers.ofFile(in), HttpRequest.BodyPublishers.ofString("\r\n--" + boundary + "--\r\n")))
        .build();
    String fileId = send(upload).path("id").asText();
    String body = JSON.writeValueAsString(java.util.Map.of("input_file_id", fileId, "endpoint", "/v1/embeddings",
        "completion_window", completionWindow));
    JsonNode batch = send(request("/v1/batches").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    System.err.printf("batch %s created from %s (file %s)%n", batch.path("id").asText(), in, fileId);
    return batch.path("id").asText();
  }

  /** Polls the batch, with a bar of its requests, until it ends. */
  private JsonNode follow(String batchId) throws Exception {
    try (ProgressBar bar = Progress.bar("batch", 0, "requests")) {
      while (true) {
        JsonNode b = send(request("/v1/batches/" + batchId).GET().build());
        JsonNode counts = b.path("request_counts");
        bar.maxHint(counts.path("total").asLong());
        bar.stepTo(counts.path("completed").asLong() + counts.path("failed").asLong());
        bar.setExtraMessage(" " + b.path("status").asText());
        if (List.of("completed", "failed", "cancelled", "expired").contains(b.path("status").asText())) {
          return b;
        }
        Thread.sleep(500);
      }
    }
  }

  private void download(JsonNode fileId, Path to) throws Exception {
    if (fileId.isTextual()) {
      HttpResponse<Path> r = http.send(request("/v1/files/" + fileId.asText() + "/content").GET().build(),
          HttpResponse.BodyHandlers.ofFile(to));
      if (r.statusCode() != 200) {
        throw new IllegalStateException("downloading " + fileId.asText() + ": HTTP " + r.statusCode());
      }
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server + path));
    return apiKey == null || apiKey.isEmpty() ? b : b.header("Authorization", "Bearer " + apiKey);
  }

  private JsonNode send(HttpRequest r) throws Exception {
    HttpResponse<String> response = http.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    JsonNode json = JSON.readTree(response.body());
    if (response.statusCode() != 200) {
      throw new IllegalArgumentException(r.method() + " " + r.uri().getPath() + ": HTTP " + response.statusCode() + " "
          + json.path("error").path("code").asText() + ": " + json.path("error").path("message").asText());
    }
    return json;
  }
}
