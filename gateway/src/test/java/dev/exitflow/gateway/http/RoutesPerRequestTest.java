package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What the routes decide per request: the same server answers embeddings while the runtime is
 * ready and not_ready once it is stopping, while the routes outside the readiness check (models,
 * liveness, unknown paths) answer as before (kept for any change to how the route tree is built).
 */
class RoutesPerRequestTest {
  @Test
  void readinessIsDecidedPerRequestNotWhenTheRoutesAreBuilt() throws Exception {
    RunningServer server = new RunningServer("");
    try {
      HttpResponse<String> before = server.post("/v1/embeddings", "{\"input\": \"hello there\"}");
      assertEquals(200, before.statusCode(), before.body());
      assertEquals(200, server.get("/health/ready").statusCode());

      server.runtime.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);

      HttpResponse<String> after = server.post("/v1/embeddings", "{\"input\": \"hello there\"}");
      assertEquals(503, after.statusCode(), after.body());
      assertEquals("not_ready", HttpJson.parse(after.body()).path("error").path("code").asText(), after.body());
      HttpResponse<String> embed = server.post("/v1/embed", "{\"input\": \"hello there\"}");
      assertEquals(503, embed.statusCode(), embed.body());
      assertEquals(503, server.get("/health/ready").statusCode());
      assertEquals(200, server.get("/health/live").statusCode());
      assertEquals(200, server.get("/v1/models").statusCode());
      HttpResponse<String> unknown = server.get("/nowhere");
      assertEquals(404, unknown.statusCode(), unknown.body());
      assertEquals("not_found", HttpJson.parse(unknown.body()).path("error").path("code").asText(), unknown.body());
    } finally {
      // The runtime is stopped already: stop the server and the actor system only.
      server.server.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      server.system.terminate();
      server.system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }
}
