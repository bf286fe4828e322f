package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.RuntimeStats;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Whole-request admission over HTTP: the largest legal request succeeds on an idle server, a
 * refused request computes nothing and says why, its Retry-After works, and a configuration that
 * could never admit the largest request is refused before anything starts.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AdmissionTest {

  private static String inputs(int n, String text) {
    List<String> items = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      items.add(text + " number " + i);
    }
    return HttpJson.string(items);
  }

  @Test
  void theLargestAllowedRequestSucceedsOnAnIdleServerWithTheDefaults() throws Exception {
    try (RunningServer s = new RunningServer("")) {
      int max = GatewaySettings.create(ConfigFactory.load()).requests().maxInputs();
      assertEquals(2048, max, "the default max-inputs");
      long t0 = System.nanoTime();
      HttpResponse<String> r = s.post("/v1/embeddings", "{\"input\": " + inputs(max, "a short sentence about cats") + "}");
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals(200, r.statusCode(), r.body().substring(0, Math.min(300, r.body().length())));
      assertEquals(max, HttpJson.parse(r.body()).get("data").size());
      System.out.printf("admission: %d inputs on an idle server: %d in %.2f s%n", max, r.statusCode(), seconds);
      EmbeddingsRouteTest.assertError(
          s.post("/v1/embeddings", "{\"input\": " + inputs(max + 1, "one too many") + "}"), 413, "too_many_inputs");
    }
  }

  @Test
  void aRefusedRequestComputesNothingAndItsRetryAfterWorks() throws Exception {
    try (RunningServer s = new RunningServer(
        "exitflow.actors.admission { first-stage-queue-capacity = 64, max-in-flight = 64 }\nexitflow.requests.max-inputs = 64")) {
      RuntimeStats before = s.runtime.stats().toCompletableFuture().get();
      // A fills the runtime: 64 long inputs at the deep exit keep it busy for a while.
      String longText = "a long sentence that keeps the encoder busy for a while ".repeat(20);
      CompletableFuture<HttpResponse<String>> a = s.http.sendAsync(HttpRequest.newBuilder(URI.create(s.base() + "/v1/embeddings"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": " + inputs(64, longText) + "}")).build(),
          HttpResponse.BodyHandlers.ofString());
      while (s.runtime.stats().toCompletableFuture().get().inFlight() == 0) {
        Thread.sleep(2);
      }
      HttpResponse<String> b = s.post("/v1/embeddings", "{\"input\": " + inputs(8, "refused") + "}");
      EmbeddingsRouteTest.assertError(b, 429, "overloaded");
      String message = HttpJson.parse(b.body()).get("error").get("message").asText();
      assertTrue(message.contains("8 input(s)") && message.contains("of 64") && message.contains("in flight"), message);
      long retryAfter = Long.parseLong(b.headers().firstValue("Retry-After").orElseThrow());
      assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter);

      // The OpenAI SDK sees a RateLimitException without retries, and succeeds when it honours Retry-After.
      OpenAIClient noRetry = OpenAIOkHttpClient.builder().baseUrl(s.base() + "/v1").apiKey("unused").maxRetries(0).build();
      if (!a.isDone()) {
        assertThrows(RateLimitException.class, () -> noRetry.embeddings().create(EmbeddingCreateParams.builder()
            .model("all-minilm-l6-v2").inputOfArrayOfStrings(List.of("x".repeat(10), "y", "z", "w", "v", "u", "t", "s"))
            .build()));
      }
      assertEquals(200, a.get().statusCode());
      RuntimeStats after = s.runtime.stats().toCompletableFuture().get();
      assertEquals(64, after.admitted() - before.admitted(), "only A's inputs were admitted");
      long completed = after.completedByExit().values().stream().mapToLong(Long::longValue).sum()
          - before.completedByExit().values().stream().mapToLong(Long::longValue).sum();
      assertEquals(64, completed, "only A's inputs were computed");
      assertTrue(after.rejected() - before.rejected() >= 1);
      assertEquals(8 * (after.rejected() - before.rejected()), after.rejectedInputs() - before.rejectedInputs(),
          "rejections count requests and their inputs apart");
      assertEquals(0, after.inFlight());
      String metrics = s.get("/metrics").body();
      assertTrue(metrics.contains("exitflow_rejected_requests_total " + (double) after.rejected()), metrics);
      assertTrue(metrics.contains("exitflow_rejected_inputs_total " + (double) after.rejectedInputs()), metrics);

      // Retry-After is the expected time until the refused inputs fit: until enough of the 64 long inputs
      // in flight have been answered, at the rate requests left lately, but not before the first of them can
      // leave. So an SDK's default three retries are enough. They were not when it counted only the first
      // stage's queue (its 50 ms minimum passed long before the first long input left), nor, on a slower
      // machine, when the first to leave was expected after its remaining stages' compute (245-922 ms; six
      // retries were allowed for a while): the inputs of one request share their urgency, so every batch of
      // the stages before the last runs first, as many at once as the node computes, and Retry-After now
      // counts those batches in series.
      OpenAIClient retrying = OpenAIOkHttpClient.builder().baseUrl(s.base() + "/v1").apiKey("unused").maxRetries(3).build();
      CompletableFuture<HttpResponse<String>> again = s.http.sendAsync(HttpRequest.newBuilder(URI.create(s.base() + "/v1/embeddings"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": " + inputs(64, longText) + "}")).build(),
          HttpResponse.BodyHandlers.ofString());
      while (s.runtime.stats().toCompletableFuture().get().inFlight() == 0 && !again.isDone()) {
        Thread.sleep(2);
      }
      HttpResponse<String> told = s.post("/v1/embeddings", "{\"input\": " + inputs(5, "told when") + "}");
      long t0 = System.nanoTime();
      CreateEmbeddingResponse retried = retrying.embeddings().create(EmbeddingCreateParams.builder()
          .model("all-minilm-l6-v2").inputOfArrayOfStrings(List.of("retried", "after", "the", "queue", "drained")).build());
      System.out.printf("admission: behind 64 long inputs, 5 inputs got %d with retry-after-ms %s; the SDK's call "
          + "(at most 3 retries) succeeded after %d ms%n", told.statusCode(), told.headers().firstValue("retry-after-ms").orElse("-"),
          (System.nanoTime() - t0) / 1_000_000);
      assertEquals(5, retried.data().size());
      assertEquals(200, again.get().statusCode());
    }
  }
}
