package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /v1/embeddings, /v1/embed, /v1/models, health and metrics over real sockets. */
class EmbeddingsRouteTest {
  private static RunningServer server;

  @BeforeAll
  static void start() {
    server = new RunningServer("exitflow.gateway.limits.max-body-bytes = 64k\nexitflow.requests.max-inputs = 16");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static OpenAIClient openAi() {
    return OpenAIOkHttpClient.builder().baseUrl(server.base() + "/v1").apiKey("unused").maxRetries(0).build();
  }

  @Test
  void theOfficialOpenAiClientWorksUnmodified() {
    OpenAIClient client = openAi();
    CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("all-minilm-l6-v2").input("The quick brown fox jumps over the lazy dog.").build());
    assertEquals(1, one.data().size());
    assertEquals(384, one.data().get(0).embedding().size());
    assertEquals("all-minilm-l6-v2", one.model());
    assertEquals(12, one.usage().promptTokens()); // [CLS] + 10 words + "." + [SEP]

    CreateEmbeddingResponse many = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("all-minilm-l6-v2").inputOfArrayOfStrings(List.of("first text", "second text", "third"))
        .dimensions(64).encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64)
        .putAdditionalBodyProperty("exit", JsonValue.from("shallow")).build());
    assertEquals(3, many.data().size());
    for (int i = 0; i < 3; i++) {
      assertEquals(i, many.data().get(i).index());
      float[] v = decode(many.data().get(i).embeddingValue().asBase64());
      assertEquals(64, v.length);
      double norm = 0;
      for (float x : v) {
        norm += x * x;
      }
      assertEquals(1.0, norm, 1e-4);
      assertEquals(2, many.data().get(i)._additionalProperties().get("exit_layer").convert(Integer.class));
    }
  }

  private static float[] decode(String base64) {
    ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[b.remaining() / 4];
    b.asFloatBuffer().get(v);
    return v;
  }

  @Test
  void reportsTheExitUsedPerItemAndInAHeader() throws Exception {
    HttpResponse<String> r = server.post("/v1/embeddings",
        "{\"input\": [\"a\", \"b\"], \"exit\": \"4\", \"priority\": \"bulk\", \"dimensions\": 8}");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("4,4", r.headers().firstValue("X-Exitflow-Exit-Layers").orElseThrow());
    JsonNode body = HttpJson.parse(r.body());
    assertEquals("list", body.get("object").asText());
    assertEquals(4, body.get("data").get(1).get("exit_layer").asInt());
    assertEquals("embedding", body.get("data").get(0).get("object").asText());
  }

  @Test
  void nativeApiGivesExitAndTimingDetails() throws Exception {
    HttpResponse<String> r = server.post("/v1/embed", "{\"input\": \"hello there\", \"exit\": \"auto\", \"deadline_ms\": 5000}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode item = HttpJson.parse(r.body()).get("results").get(0);
    assertEquals(6, item.get("exit_layer").asInt());
    assertEquals("policy", item.get("exit_reason").asText());
    assertEquals(4, item.get("tokens").asInt());
    assertTrue(item.get("compute_ms").asDouble() > 0);
    assertTrue(item.has("queue_ms") && item.has("truncated"));
  }

  @Test
  void errorsHaveOpenAisShapeAndTheRightStatus() throws Exception {
    assertError(server.post("/v1/embeddings", "{not json"), 400, "invalid_json");
    assertError(server.post("/v1/embeddings", "{\"input\": [[1, 2, 3]]}"), 400, "invalid_type");
    assertError(server.post("/v1/embeddings", "{\"input\": \"  \"}"), 400, "empty_input");
    assertError(server.post("/v1/embeddings", "{\"model\": \"gpt-4\", \"input\": \"x\"}"), 422, "unknown_model");
    assertError(server.post("/v1/embeddings", "{\"input\": \"x\", \"exit\": \"3\"}"), 422, "unknown_exit");
    assertError(server.post("/v1/embeddings", "{\"input\": \"x\", \"dimensions\": 1000}"), 422, "dimensions_out_of_range");
    assertError(server.post("/v1/embeddings", "{\"input\": \"x\", \"encoding_format\": \"int8\"}"), 422, "unsupported_encoding");
    assertError(server.post("/v1/embeddings", "{\"input\": \"" + "x".repeat(70_000) + "\"}"), 413, "request_too_large");
    assertError(server.post("/v1/embeddings", "{\"input\": " + HttpJson.string(java.util.Collections.nCopies(17, "a")) + "}"), 413, "too_many_inputs");
    assertError(server.get("/v1/nowhere"), 404, "not_found");
    HttpResponse<String> wrongMethod = server.get("/v1/embeddings");
    assertEquals(405, wrongMethod.statusCode());
    assertTrue(HttpJson.parse(wrongMethod.body()).get("error").has("message"));
  }

  static void assertError(HttpResponse<String> r, int status, String code) {
    assertEquals(status, r.statusCode(), r.body());
    JsonNode error = HttpJson.parse(r.body()).get("error");
    assertEquals(code, error.get("code").asText(), r.body());
    assertTrue(error.get("message").asText().length() > 5);
    assertTrue(error.has("type"));
  }

  @Test
  void modelsHealthAndMetrics() throws Exception {
    JsonNode models = HttpJson.parse(server.get("/v1/models").body());
    assertEquals("list", models.get("object").asText());
    assertEquals("all-minilm-l6-v2", models.get("data").get(0).get("id").asText());
    assertEquals("model", models.get("data").get(0).get("object").asText());
    assertEquals(200, server.get("/health/live").statusCode());
    assertEquals(200, server.get("/health/ready").statusCode());

    server.post("/v1/embeddings", "{\"input\": \"count me\", \"exit\": \"shallow\"}");
    String metrics = server.get("/metrics").body();
    for (String name : List.of("exitflow_http_requests_total{route=\"embeddings\",status=\"200\"}",
        "exitflow_http_request_duration_seconds_bucket", "exitflow_stage_queue_depth{stage=\"1\"}",
        "exitflow_batch_size_bucket", "exitflow_batch_padded_tokens_bucket", "exitflow_exits_total{layer=\"2\"",
        "exitflow_rejected_requests_total", "exitflow_rejected_inputs_total", "exitflow_depth_controller_level")) {
      assertTrue(metrics.contains(name), name + " missing from\n" + metrics);
    }
  }
}
