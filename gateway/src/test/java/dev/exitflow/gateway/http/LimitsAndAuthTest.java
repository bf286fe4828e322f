package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class LimitsAndAuthTest {

  @Test
  void anApiKeyIsRequiredWhenConfigured() throws Exception {
    try (RunningServer s = new RunningServer("exitflow.gateway.api-key = \"s3cret\"")) {
      EmbeddingsRouteTest.assertError(s.post("/v1/embeddings", "{\"input\": \"x\"}"), 401, "invalid_api_key");
      EmbeddingsRouteTest.assertError(
          s.post("/v1/embeddings", "{\"input\": \"x\"}", "Authorization", "Bearer wrong"), 401, "invalid_api_key");
      assertEquals(200, s.post("/v1/embeddings", "{\"input\": \"x\"}", "Authorization", "Bearer s3cret").statusCode());
      assertEquals(200, s.get("/health/live").statusCode(), "probes need no key");
    }
  }

  @Test
  void overloadIs429WithRetryAfter() throws Exception {
    try (RunningServer s = new RunningServer(
        "exitflow.actors.admission { first-stage-queue-capacity = 4, max-in-flight = 8 }\nexitflow.requests.max-inputs = 4")) {
      List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        String body = "{\"input\": [\"" + "a long sentence to keep the model busy ".repeat(8) + i + "\"]}";
        responses.add(s.http.sendAsync(java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.base() + "/v1/embeddings"))
            .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      int ok = 0;
      int rejected = 0;
      for (CompletableFuture<HttpResponse<String>> f : responses) {
        HttpResponse<String> r = f.get();
        if (r.statusCode() == 429) {
          EmbeddingsRouteTest.assertError(r, 429, "overloaded");
          assertTrue(Integer.parseInt(r.headers().firstValue("Retry-After").orElseThrow()) >= 1);
          rejected++;
        } else {
          assertEquals(200, r.statusCode(), r.body());
          ok++;
        }
      }
      assertTrue(ok > 0 && rejected > 0, ok + " ok, " + rejected + " rejected");
    }
  }
}
