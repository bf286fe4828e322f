package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.ExitflowService;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code grafana/exitflow.json} charts what a running server exports: every metric its queries
 * name is a series of {@code /metrics} (scraped while the server has served requests, refused some,
 * run a batch job and runs its Kafka pipeline on an embedded broker, so that every series exists),
 * and every label they select or group by is one that series carries.
 */
class GrafanaDashboardTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Pattern METRIC = Pattern.compile("\\b(exitflow_[a-z0-9_]+)\\b(\\{([^}]*)})?");
  private static final Pattern GROUPING = Pattern.compile("\\b(?:by|without|ignoring|on)\\s*\\(([^)]*)\\)");
  private static final Pattern SERIES = Pattern.compile("^(exitflow_[a-z0-9_]+)(?:\\{(.*)})? ", Pattern.MULTILINE);

  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void everyQueryNamesMetricsAndLabelsTheServerExports() throws Exception {
    JsonNode dashboard = JSON.readTree(Path.of("grafana", "exitflow.json").toFile());
    assertEquals("Exitflow", dashboard.get("title").asText());
    List<String> queries = new ArrayList<>();
    for (JsonNode panel : dashboard.get("panels")) {
      assertTrue(panel.path("targets").size() > 0, panel.path("title").asText());
      panel.get("targets").forEach(t -> queries.add(t.get("expr").asText()));
    }

    Map<String, Set<String>> exported = exportedSeries();
    Set<String> named = new TreeSet<>();
    for (String q : queries) {
      Matcher m = METRIC.matcher(q);
      Set<String> inQuery = new HashSet<>();
      while (m.find()) {
        String name = m.group(1);
        named.add(name);
        inQuery.add(name);
        assertTrue(exported.containsKey(name), name + " (in " + q + ") is not exported; exported: " + exported.keySet());
        if (m.group(3) != null) {
          for (String matcher : m.group(3).split(",")) {
            String label = matcher.split("[=!~]")[0].trim();
            assertTrue(exported.get(name).contains(label), name + " has no label " + label + " (in " + q + ")");
          }
        }
      }
      Matcher g = GROUPING.matcher(q);
      while (g.find()) {
        for (String label : g.group(1).split(",")) {
          String l = label.trim();
          assertTrue(inQuery.stream().anyMatch(n -> exported.get(n).contains(l)),
              "no metric of " + q + " has the label " + l + " it groups by");
        }
      }
    }
    // the dashboard covers what the console shows
    for (String name : List.of("exitflow_exits_total", "exitflow_depth_controller_level", "exitflow_stage_queue_depth",
        "exitflow_kafka_commit_lag", "exitflow_batch_lines_done", "exitflow_rejected_requests_total")) {
      assertTrue(named.contains(name), name + " is charted");
    }
  }

  /**
   * The series names (with {@code _bucket}, {@code _sum}, {@code _count}, {@code _total}) of a
   * running server's {@code /metrics}, each with its label names, once every family has a series.
   */
  private static Map<String, Set<String>> exportedSeries() throws Exception {
    Path data = Files.createTempDirectory(Path.of("target"), "grafana-data");
    Config config = ConfigFactory.parseString("exitflow.gateway { port = 0, kafka = on }\n"
        + "exitflow.kafka.embedded.port = 0\nexitflow.data-dir = \"" + data.toAbsolutePath() + "\"")
        .withFallback(ConfigFactory.load());
    ExitflowService service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2-q"), GatewaySettings.create(config));
    try {
      service.ready().toCompletableFuture().get(120, TimeUnit.SECONDS);
      service.kafka().orElseThrow().started().toCompletableFuture().get(90, TimeUnit.SECONDS);
      String url = "http://127.0.0.1:" + service.server().port();
      assertEquals(200, post(url + "/v1/embed", "{\"input\": [\"a\", \"b\"], \"exit\": \"auto\"}").statusCode());
      assertEquals(404, HTTP.send(HttpRequest.newBuilder(URI.create(url + "/nowhere")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode());
      assertEquals(200, post(url + "/v1/bulk", "{\"input\": \"\"}\n").statusCode()); // an error line
      startBatch(url, 20_000);
      // the batch gauges exist while a batch runs: scrape then
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Set<String>> series = new HashMap<>();
        Matcher m = SERIES.matcher(body);
        while (m.find()) {
          Set<String> labels = series.computeIfAbsent(m.group(1), k -> new TreeSet<>());
          if (m.group(2) != null) {
            for (String pair : m.group(2).split(",(?=[a-z_]+=\")")) {
              labels.add(pair.substring(0, pair.indexOf('=')));
            }
          }
        }
        if (series.containsKey("exitflow_batch_lines_done") && series.containsKey("exitflow_kafka_commit_lag")) {
          return series;
        }
        assertTrue(System.nanoTime() < deadline, "no batch or Kafka series in /metrics:\n" + body);
        Thread.sleep(50);
      }
    } finally {
      service.shutdown().toCompletableFuture().get(120, TimeUnit.SECONDS);
    }
  }

  private static HttpResponse<String> post(String url, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void startBatch(String url, int lines) throws Exception {
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < lines; i++) {
      jsonl.append("{\"custom_id\": \"").append(i).append("\", \"method\": \"POST\", \"url\": \"/v1/embeddings\", ")
          .append("\"body\": {\"input\": \"line ").append(i).append(" of a dashboard test\", \"exit\": \"shallow\"}}\n");
    }
    String boundary = "exitflow-test-boundary";
    String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--" + boundary
        + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"input.jsonl\"\r\n"
        + "Content-Type: application/jsonl\r\n\r\n" + jsonl + "\r\n--" + boundary + "--\r\n";
    HttpResponse<String> file = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/v1/files"))
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, file.statusCode(), file.body());
    HttpResponse<String> batch = post(url + "/v1/batches", "{\"input_file_id\": \""
        + JSON.readTree(file.body()).path("id").asText()
        + "\", \"endpoint\": \"/v1/embeddings\", \"completion_window\": \"24h\"}");
    assertEquals(200, batch.statusCode(), batch.body());
  }
}
