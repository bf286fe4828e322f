package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A batch job survives its server being killed: the packaged jar runs a batch of
 * {@code exitflow.test.batch-lines} lines (40,000 by default; the closing note of the batch issue
 * reports 200,000), is killed with SIGKILL twice mid-job and restarted with the same command each
 * time; the output has exactly one line per custom_id, none missing.
 */
class BatchRestartTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LINES = Integer.getInteger("exitflow.test.batch-lines", 40_000);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void aBatchKilledTwiceLosesAndDoublesNoLine() throws Exception {
    Path dir = Path.of("target/batch-restart").toAbsolutePath();
    KafkaRestartTest.deleteRecursively(dir);
    Path data = dir.resolve("data");
    Path input = Files.createDirectories(dir).resolve("input.jsonl");
    try (BufferedWriter w = Files.newBufferedWriter(input)) {
      for (int i = 0; i < LINES; i++) {
        w.write("{\"custom_id\": \"line-" + i + "\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": "
            + "{\"input\": \"batch line " + i + " about subject " + (i % 113) + "\", \"exit\": \"shallow\", \"dimensions\": 8}}\n");
      }
    }

    ServeProcess serve = ServeProcess.start(dir, "serve-0.log", data, 0);
    try {
      String url = serve.awaitReady();
      String batchId = create(url, input);
      for (int kill = 1; kill <= 2; kill++) {
        awaitCompleted(url, batchId, LINES * kill / 3, serve);
        serve.process.destroyForcibly();
        serve.process.waitFor(30, TimeUnit.SECONDS);
        serve = ServeProcess.start(dir, "serve-" + kill + ".log", data, 0);
        url = serve.awaitReady();
      }
      // Every line counted is not yet the end: the batch then finalizes (its output file is sealed).
      JsonNode done = awaitCompleted(url, batchId, Long.MAX_VALUE, serve);
      assertEquals("completed", done.path("status").asText(), done.toString());
      assertEquals(LINES, done.path("request_counts").path("completed").asLong(), done.toString());

      Path output = dir.resolve("output.jsonl");
      HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/files/" + done.path("output_file_id").asText() + "/content"))
          .build(), HttpResponse.BodyHandlers.ofFile(output));
      Map<String, Integer> perId = new HashMap<>();
      try (BufferedReader r = Files.newBufferedReader(output)) {
        for (String line; (line = r.readLine()) != null; ) {
          JsonNode json = JSON.readTree(line);
          assertEquals(200, json.path("response").path("status_code").asInt(), line);
          perId.merge(json.path("custom_id").asText(), 1, Integer::sum);
        }
      }
      long doubled = perId.values().stream().filter(n -> n > 1).count();
      System.out.printf("batch of %d lines, SIGKILL x2: %d custom_ids in the output, %d doubled%n", LINES, perId.size(),
          doubled);
      assertEquals(LINES, perId.size(), "every line has its result");
      assertEquals(0, doubled, "no line twice");
      serve.process.destroy();
      assertEquals(0, serve.awaitExit(90));
    } finally {
      serve.process.destroyForcibly();
    }
  }

  private static String create(String url, Path input) throws Exception {
    String boundary = "exitflow-test-boundary";
    String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--" + boundary
        + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\"\r\n"
        + "Content-Type: application/jsonl\r\n\r\n";
    HttpResponse<String> file = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/files"))
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.concat(HttpRequest.BodyPublishers.ofString(head),
            HttpRequest.BodyPublishers.ofFile(input), HttpRequest.BodyPublishers.ofString("\r\n--" + boundary + "--\r\n")))
        .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertEquals(200, file.statusCode(), file.body());
    HttpResponse<String> batch = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/batches"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\": \"" + JSON.readTree(file.body()).path("id").asText()
            + "\", \"endpoint\": \"/v1/embeddings\", \"completion_window\": \"24h\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, batch.statusCode(), batch.body());
    return JSON.readTree(batch.body()).path("id").asText();
  }

  /** Polls until the batch has {@code n} lines completed (or ended); returns it. */
  /** Waits until {@code n} lines are done or the batch has ended (Long.MAX_VALUE: until it ends). */
  private static JsonNode awaitCompleted(String url, String id, long n, ServeProcess serve) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
    while (System.nanoTime() < deadline) {
      JsonNode b = JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/batches/" + id)).build(),
          HttpResponse.BodyHandlers.ofString()).body());
      String status = b.path("status").asText();
      if (b.path("request_counts").path("completed").asLong() >= n || status.equals("completed")
          || status.equals("failed")) {
        return b;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("batch " + id + " stalled:\n" + Files.readString(serve.log));
  }
}
