package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import dev.exitflow.gateway.ExitflowService;
import dev.exitflow.gateway.http.GatewaySettings;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Docker does not run here, so the deployment files are checked against the code instead: every
 * manifest parses; ports, probe paths, metric names, environment variables and configuration keys
 * they use are the ones the server really has.
 */
class ManifestsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Path K8S = Path.of("k8s");
  private static ExitflowService service;

  @BeforeAll
  static void start() {
    Config config = ConfigFactory.parseString("exitflow.gateway { port = 0, kafka = off }").withFallback(ConfigFactory.load());
    service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2-q"), GatewaySettings.create(config));
    service.runtime().ready().toCompletableFuture().join();
  }

  @AfterAll
  static void stop() {
    service.shutdown().toCompletableFuture().join();
  }

  private static JsonNode yaml(Path file) throws Exception {
    return YAML.readTree(file.toFile());
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + service.server().port() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void everyManifestParsesAndNamesItsKind() throws Exception {
    try (var files = Files.list(K8S)) {
      for (Path f : files.toList()) {
        JsonNode doc = yaml(f);
        assertTrue(doc.hasNonNull("apiVersion") && doc.hasNonNull("kind") && doc.path("metadata").hasNonNull("name"), f.toString());
      }
    }
    assertTrue(yaml(Path.of("compose.yaml")).path("services").has("exitflow"));
  }

  @Test
  void portsAndProbesMatchTheServer() throws Exception {
    int port = ConfigFactory.load().getInt("exitflow.gateway.port");
    JsonNode container = yaml(K8S.resolve("deployment.yaml")).at("/spec/template/spec/containers/0");
    assertEquals(port, container.at("/ports/0/containerPort").asInt());
    assertEquals(String.valueOf(port), env(container, "EXITFLOW_PORT"));
    for (String probe : List.of("readinessProbe", "livenessProbe")) {
      String path = container.at("/" + probe + "/httpGet/path").asText();
      assertEquals(200, get(path).statusCode(), probe + " " + path);
    }
    assertEquals("/health/ready", container.at("/readinessProbe/httpGet/path").asText());
    JsonNode annotations = yaml(K8S.resolve("deployment.yaml")).at("/spec/template/metadata/annotations");
    assertEquals(port, annotations.get("prometheus.io/port").asInt());
    assertEquals(200, get(annotations.get("prometheus.io/path").asText()).statusCode());
    assertTrue(Files.readString(Path.of("Dockerfile")).contains("EXPOSE " + port));
    assertTrue(yaml(Path.of("compose.yaml")).at("/services/exitflow/ports/0").asText().endsWith(":" + port));
  }

  @Test
  void theAutoscalersMetricIsExported() throws Exception {
    String metric = yaml(K8S.resolve("hpa.yaml")).at("/spec/metrics/0/pods/metric/name").asText();
    assertTrue(get("/metrics").body().contains(metric + "{"), metric + " is not in /metrics");
  }

  @Test
  void environmentVariablesAreOnesTheConfigurationReads() throws Exception {
    TreeSet<String> known = new TreeSet<>();
    for (URL url : Collections.list(getClass().getClassLoader().getResources("reference.conf"))) {
      try (InputStream in = url.openStream()) {
        Matcher m = Pattern.compile("\\$\\{\\?(EXITFLOW_[A-Z_]+)}").matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        while (m.find()) {
          known.add(m.group(1));
        }
      }
    }
    List<String> used = new ArrayList<>();
    for (Path f : List.of(Path.of("Dockerfile"), Path.of("compose.yaml"), K8S.resolve("deployment.yaml"))) {
      Matcher m = Pattern.compile("\\b(EXITFLOW_[A-Z_]+)").matcher(Files.readString(f));
      while (m.find()) {
        used.add(m.group(1));
      }
    }
    assertNotEquals(0, used.size());
    for (String name : used) {
      assertTrue(known.contains(name), name + " is not read by any reference.conf (known: " + known + ")");
    }
  }

  @Test
  void theConfigMapSetsOnlyExistingKeys() throws Exception {
    String conf = yaml(K8S.resolve("configmap.yaml")).at("/data/application.conf").asText();
    Config overrides = ConfigFactory.parseString(conf);
    Config reference = ConfigFactory.defaultReference();
    for (Map.Entry<String, ConfigValue> e : overrides.entrySet()) {
      assertTrue(reference.hasPath(e.getKey()), e.getKey() + " is not a configuration key");
      assertEquals(reference.getValue(e.getKey()).valueType(), e.getValue().valueType(), e.getKey());
    }
    assertTrue(yaml(K8S.resolve("deployment.yaml")).toString().contains("/etc/exitflow/application.conf"));
  }

  private static String env(JsonNode container, String name) {
    for (JsonNode e : container.get("env")) {
      if (e.get("name").asText().equals(name)) {
        return e.get("value").asText();
      }
    }
    return null;
  }
}
