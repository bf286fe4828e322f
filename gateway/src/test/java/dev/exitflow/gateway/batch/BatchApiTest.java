package dev.exitflow.gateway.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.NotFoundException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.ExitflowService;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * OpenAI's Files and Batch API, driven by the official Java SDK against a real server: a batch's
 * output equals {@code /v1/embeddings} for the same bodies, bad lines land in the error file with
 * the HTTP API's codes, a file that is not JSONL fails the batch naming the line, cancel, expiry,
 * list with pagination, and 404s in OpenAI's shape.
 */
class BatchApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static ExitflowService service;
  private static OpenAIClient client;
  private static String base;

  @BeforeAll
  static void start() throws Exception {
    Path data = Files.createTempDirectory(Path.of("target"), "batch-api-");
    Config config = ConfigFactory.parseString("exitflow.gateway { port = 0, kafka = off }\nexitflow.data-dir = \""
        + data.toAbsolutePath() + "\"").withFallback(ConfigFactory.load());
    service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), GatewaySettings.create(config));
    service.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + service.server().port() + "/v1";
    client = OpenAIOkHttpClient.builder().baseUrl(base).apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() throws Exception {
    service.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aBatchAnswersLikeTheEmbeddingsApiWithBadLinesInTheErrorFile() throws Exception {
    StringBuilder jsonl = new StringBuilder();
    Map<String, String> bodies = new HashMap<>();
    for (int i = 0; i < 50; i++) {
      String body = i % 10 == 7
          ? "{\"input\": \"line " + i + "\", \"dimensions\": 1.5}" // invalid_type, as over HTTP
          : "{\"input\": [\"batch line " + i + "\", \"its second input\"], \"exit\": \"shallow\", \"dimensions\": 32}";
      bodies.put("req-" + i, body);
      jsonl.append("{\"custom_id\": \"req-").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": ")
          .append(body).append("}\n");
    }
    FileObject file = client.files().create(FileCreateParams.builder()
        .file(jsonl.toString().getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.BATCH).build());
    assertEquals(jsonl.length(), file.bytes());
    Batch batch = client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
        .endpoint(BatchCreateParams.Endpoint.V1_EMBEDDINGS).completionWindow(BatchCreateParams.CompletionWindow._24H)
        .build());
    Batch done = awaitEnd(batch.id());
    assertEquals(Batch.Status.COMPLETED, done.status(), done.toString());
    assertEquals(50, done.requestCounts().orElseThrow().total());
    assertEquals(45, done.requestCounts().orElseThrow().completed());
    assertEquals(5, done.requestCounts().orElseThrow().failed());

    HttpClient http = HttpClient.newHttpClient();
    List<String> output = lines(done.outputFileId().orElseThrow());
    assertEquals(45, output.size());
    for (String line : output) {
      JsonNode json = JSON.readTree(line);
      assertEquals(200, json.path("response").path("status_code").asInt(), line);
      String customId = json.path("custom_id").asText();
      HttpResponse<String> direct = http.send(HttpRequest.newBuilder(URI.create(base + "/embeddings"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(bodies.get(customId))).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(JSON.readTree(direct.body()).path("data"), json.path("response").path("body").path("data"),
          customId + ": the batch answers as /v1/embeddings does");
    }
    List<String> errors = lines(done.errorFileId().orElseThrow());
    assertEquals(5, errors.size());
    for (String line : errors) {
      JsonNode json = JSON.readTree(line);
      assertEquals(400, json.path("response").path("status_code").asInt(), line);
      assertEquals("invalid_type", json.path("response").path("body").path("error").path("code").asText(), line);
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aFileThatIsNotJsonlFailsTheBatchNamingTheLine() throws Exception {
    String text = "{\"custom_id\": \"a\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": {\"input\": \"x\"}}\n"
        + "this line is not JSON\n";
    FileObject file = client.files().create(FileCreateParams.builder()
        .file(text.getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.BATCH).build());
    Batch batch = client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
        .endpoint(BatchCreateParams.Endpoint.V1_EMBEDDINGS).completionWindow(BatchCreateParams.CompletionWindow._24H)
        .build());
    Batch done = awaitEnd(batch.id());
    assertEquals(Batch.Status.FAILED, done.status());
    String errors = done.errors().orElseThrow().toString();
    assertTrue(errors.contains("line 2"), errors);
    assertTrue(errors.contains("invalid_batch"), errors);
  }

  @Test
  void unknownIdsAre404InOpenAisShapeAndListsPaginate() throws Exception {
    assertThrows(NotFoundException.class, () -> client.batches().retrieve("batch_0000"));
    assertThrows(NotFoundException.class, () -> client.files().retrieve("file-00000000000000000000000000000000"));
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/batches/nope"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, r.statusCode());
    assertEquals("batch_not_found", JSON.readTree(r.body()).path("error").path("code").asText());

    // Three batches on one small file; pages of two, newest first.
    FileObject file = client.files().create(FileCreateParams.builder().file(("{\"custom_id\": \"a\", \"method\": \"POST\", "
        + "\"url\": \"/v1/embeddings\", \"body\": {\"input\": \"x\"}}\n").getBytes(StandardCharsets.UTF_8))
        .purpose(FilePurpose.BATCH).build());
    for (int i = 0; i < 3; i++) {
      client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
          .endpoint(BatchCreateParams.Endpoint.V1_EMBEDDINGS).completionWindow(BatchCreateParams.CompletionWindow._24H)
          .build());
    }
    JsonNode first = get("/batches?limit=2");
    assertEquals(2, first.path("data").size());
    assertTrue(first.path("has_more").asBoolean());
    JsonNode second = get("/batches?limit=2&after=" + first.path("last_id").asText());
    assertTrue(second.path("data").size() >= 1);
    assertFalse(second.path("data").get(0).path("id").asText().equals(first.path("data").get(1).path("id").asText()));
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aCancelledBatchStopsAndKeepsWhatItComputed() throws Exception {
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < 3000; i++) {
      jsonl.append("{\"custom_id\": \"c-").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", "
          + "\"body\": {\"input\": \"a line of a long batch that gets cancelled ").append(i).append("\"}}\n");
    }
    FileObject file = client.files().create(FileCreateParams.builder()
        .file(jsonl.toString().getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.BATCH).build());
    Batch batch = client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
        .endpoint(BatchCreateParams.Endpoint.V1_EMBEDDINGS).completionWindow(BatchCreateParams.CompletionWindow._24H)
        .build());
    client.batches().cancel(batch.id());
    Batch done = awaitEnd(batch.id());
    assertEquals(Batch.Status.CANCELLED, done.status());
    assertTrue(done.requestCounts().orElseThrow().completed() < 3000, done.toString());
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aBatchNotDoneWhenItsWindowClosesExpiresKeepingWhatItComputed() throws Exception {
    int n = 20_000; // far more than 3 s of work on any machine
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < n; i++) {
      jsonl.append("{\"custom_id\": \"e-").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", "
          + "\"body\": {\"input\": \"a line of a batch with a short window ").append(i).append("\", \"exit\": \"deep\"}}\n");
    }
    FileObject file = client.files().create(FileCreateParams.builder()
        .file(jsonl.toString().getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.BATCH).build());
    Batch batch = client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
        .endpoint(BatchCreateParams.Endpoint.V1_EMBEDDINGS).completionWindow(BatchCreateParams.CompletionWindow.of("3s"))
        .build());
    assertTrue(batch.expiresAt().orElseThrow() <= batch.createdAt() + 3, batch.toString());
    Batch done = awaitEnd(batch.id());
    assertEquals(Batch.Status.EXPIRED, done.status(), done.toString());
    long completed = done.requestCounts().orElseThrow().completed();
    assertTrue(completed > 0 && completed < n, done.toString());
    assertEquals(n, completed + done.requestCounts().orElseThrow().failed(), done.toString());

    // Each custom_id exactly once over the two files: computed ones answered, the rest batch_expired.
    Map<String, Integer> seen = new HashMap<>();
    for (String line : lines(done.outputFileId().orElseThrow())) {
      JsonNode json = JSON.readTree(line);
      assertEquals(200, json.path("response").path("status_code").asInt(), line);
      seen.merge(json.path("custom_id").asText(), 1, Integer::sum);
    }
    assertEquals(completed, seen.size());
    for (String line : lines(done.errorFileId().orElseThrow())) {
      JsonNode json = JSON.readTree(line);
      assertTrue(json.path("response").isNull(), line);
      assertEquals("batch_expired", json.path("error").path("code").asText(), line);
      seen.merge(json.path("custom_id").asText(), 1, Integer::sum);
    }
    assertEquals(n, seen.size());
    assertTrue(seen.values().stream().allMatch(c -> c == 1), "a custom_id appears twice");
  }

  @Test
  void aCompletionWindowOutsideOneSecondToADayIsRefused() throws Exception {
    for (String window : List.of("25h", "0s", "soon", "1d")) {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/batches"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\": \"file-x\", \"endpoint\": \"/v1/embeddings\", "
              + "\"completion_window\": \"" + window + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, r.statusCode(), window + ": " + r.body());
      JsonNode error = JSON.readTree(r.body()).path("error");
      assertEquals("invalid_batch", error.path("code").asText(), r.body());
      assertTrue(error.path("message").asText().contains("completion_window"), r.body());
    }
  }

  /** long_text reaches batch lines as it reaches /v1/embeddings: chunked, or refused past the token limit. */
  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aBatchLineCanBeChunkedAndOnePastTheTokenLimitIsInTheErrorFile() throws Exception {
    StringBuilder prose = new StringBuilder();
    for (String sentence : dev.exitflow.model.calibrate.Corpus.named("europarl-en.txt")) {
      if (prose.length() > 60_000) { // about 12,000 tokens: past max-tokens-per-request (8,192)
        break;
      }
      prose.append(sentence).append(' ');
    }
    String chunked = JSON.writeValueAsString(Map.of("input", prose.substring(0, 6_000), "long_text", "chunk",
        "exit", 2));
    String huge = JSON.writeValueAsString(Map.of("input", prose.toString(), "long_text", "chunk"));
    String jsonl = "{\"custom_id\": \"chunked\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": "
        + chunked + "}\n{\"custom_id\": \"huge\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", \"body\": "
        + huge + "}\n";
    FileObject file = client.files().create(FileCreateParams.builder()
        .file(jsonl.getBytes(StandardCharsets.UTF_8)).purpose(FilePurpose.BATCH).build());
    Batch done = awaitEnd(client.batches().create(BatchCreateParams.builder().inputFileId(file.id())
        .endpoint(BatchCreateParams.Endpoint.V1_EMBEDDINGS).completionWindow(BatchCreateParams.CompletionWindow._24H)
        .build()).id());
    assertEquals(Batch.Status.COMPLETED, done.status(), done.toString());
    JsonNode item = JSON.readTree(lines(done.outputFileId().orElseThrow()).get(0))
        .path("response").path("body").path("data").get(0);
    assertTrue(item.path("chunks").asInt() > 1, item.path("chunks").toString());
    double norm = 0;
    for (JsonNode x : item.path("embedding")) {
      norm += x.asDouble() * x.asDouble();
    }
    assertEquals(1.0, Math.sqrt(norm), 1e-4);
    JsonNode error = JSON.readTree(lines(done.errorFileId().orElseThrow()).get(0));
    assertEquals("huge", error.path("custom_id").asText());
    assertEquals(413, error.path("response").path("status_code").asInt());
    assertEquals("input_too_large", error.path("response").path("body").path("error").path("code").asText());
  }

  private static Batch awaitEnd(String id) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      Batch b = client.batches().retrieve(id);
      if (b.status().equals(Batch.Status.COMPLETED) || b.status().equals(Batch.Status.FAILED)
          || b.status().equals(Batch.Status.CANCELLED) || b.status().equals(Batch.Status.EXPIRED)) {
        return b;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("batch " + id + " did not end");
  }

  private static List<String> lines(String fileId) throws Exception {
    try (com.openai.core.http.HttpResponse r = client.files().content(fileId); InputStream in = r.body()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
  }

  private static JsonNode get(String path) throws Exception {
    return JSON.readTree(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body());
  }
}
