package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The console over real sockets, without a browser: the page, its files, and its event stream. */
class ConsoleTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static RunningServer server;

  @BeforeAll
  static void start() {
    server = new RunningServer("exitflow.gateway.console { interval = 250ms, latency-window = 1s }");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void servesThePageAndEveryFileItLoadsFromTheJar() throws Exception {
    HttpResponse<String> page = server.get("/");
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
    // every script and style the page names is served here (no CDN), with a fitting type
    var refs = java.util.regex.Pattern.compile("(?:src|href)=\"(/[^\"]+)\"").matcher(page.body());
    int n = 0;
    while (refs.find()) {
      HttpResponse<String> r = server.get(refs.group(1));
      assertEquals(200, r.statusCode(), refs.group(1));
      String type = r.headers().firstValue("content-type").orElse("");
      assertTrue(type.contains(refs.group(1).endsWith(".js") ? "javascript" : "css"), refs.group(1) + ": " + type);
      n++;
    }
    assertEquals(4, n, "uPlot's script and style, the console's script and style");
    assertTrue(server.get("/console/uplot.js").body().contains("uPlot"));
    assertEquals(404, server.get("/console/nothing.js").statusCode());
    assertEquals(404, server.post("/nowhere", "{}").statusCode(), "a POST elsewhere stays a 404");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void theEventStreamSendsHistoryThenSamplesThatCountWhatHappened() throws Exception {
    HttpResponse<InputStream> r = server.http.send(HttpRequest.newBuilder(URI.create(server.base() + "/console/events"))
        .build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      String[] first = next(in);
      assertEquals("history", first[0]);
      JsonNode about = JSON.readTree(first[1]);
      assertEquals("all-minilm-l6-v2", about.get("model").asText());
      assertEquals("[2,4,6]", about.get("exit_layers").toString());

      for (int i = 0; i < 6; i++) {
        assertEquals(200, server.post("/v1/embed", "{\"input\": [\"one\", \"two\", \"three\"], \"exit\": \"shallow\"}")
            .statusCode());
      }
      HttpResponse<String> bulk = server.http.send(HttpRequest.newBuilder(URI.create(server.base()
          + "/v1/bulk?exit=shallow")).POST(HttpRequest.BodyPublishers.ofString("a\nb\nc\n")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(3, bulk.body().lines().count(), bulk.body());
      // the samples that follow count those requests: 6 embed requests, 3 bulk lines, 21 inputs out at exit 2
      double requests = 0;
      double bulkLines = 0;
      double shallowInputs = 0;
      JsonNode last = null;
      double p50 = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while ((requests < 5.99 || bulkLines < 2.99 || shallowInputs < 20.99 || p50 == 0)
          && System.nanoTime() < deadline) {
        String[] e = next(in);
        assertEquals("sample", e[0]);
        last = JSON.readTree(e[1]);
        double seconds = last.get("seconds").asDouble();
        requests += last.at("/rps/embed").asDouble() * seconds;
        bulkLines += last.at("/rps/bulk").asDouble() * seconds;
        shallowInputs += last.at("/exits/2").asDouble() * seconds;
        p50 = Math.max(p50, last.at("/latency_ms/p50").asDouble());
      }
      assertEquals(6, requests, 0.01, "embed requests counted, from exitflow_http_requests");
      assertEquals(3, bulkLines, 0.01, "bulk lines counted, from exitflow_stream_requests");
      assertEquals(21, shallowInputs, 0.01, "inputs out at exit 2, from exitflow_exits");
      assertTrue(p50 > 0 && p50 < 10_000, "p50 " + p50 + " ms");
      assertEquals(4, last.get("stages").size(), "the reserve exit's stage and the plan's three");
      assertEquals("off", last.at("/kafka/state").asText());
      assertEquals("ready", last.get("status").asText());
      double share = last.path("deadline_share").asDouble(-1);
      assertTrue(share >= 0.4 && share <= 0.9, "admission's share of the deadline, within its bounds: " + share);
      assertTrue(last.get("workers").asInt() >= 3, last.toString());
    }
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void anOpenPageDoesNotHoldUpAShutdown() throws Exception {
    try (RunningServer other = new RunningServer("exitflow.gateway.shutdown-deadline = 20s")) {
      HttpResponse<InputStream> r = other.http.send(HttpRequest.newBuilder(URI.create(other.base() + "/console/events"))
          .build(), HttpResponse.BodyHandlers.ofInputStream());
      try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        assertEquals("history", next(in)[0]);
        long start = System.nanoTime();
        var stopped = other.server.stop().toCompletableFuture();
        // the stream ends (the page's EventSource will reconnect to whatever serves next)...
        while (in.readLine() != null) {
          assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the event stream goes on draining");
        }
        // ...and the drain completes long before its 20 s deadline
        stopped.get(10, TimeUnit.SECONDS);
      }
    }
  }

  /** The next event: its name and data. */
  private static String[] next(BufferedReader in) throws Exception {
    String name = null;
    String data = null;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.startsWith("event: ")) {
        name = line.substring(7);
      } else if (line.startsWith("data: ")) {
        data = line.substring(6);
      } else if (line.isEmpty() && name != null) {
        return new String[] {name, data};
      }
    }
    throw new AssertionError("the event stream ended");
  }
}
