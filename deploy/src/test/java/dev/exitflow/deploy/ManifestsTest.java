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

  /** The first document of a YAML file. */
  private static JsonNode yaml(Path file) throws Exception {
    return documents(file).get(0);
  }

  private static List<JsonNode> documents(Path file) throws Exception {
    try (var docs = YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile())) {
      return docs.readAll();
    }
  }

  private static List<Path> manifests() throws Exception {
    try (var files = Files.list(K8S)) {
      return files.sorted().toList();
    }
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + service.server().port() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void everyManifestParsesAndNamesItsKind() throws Exception {
    for (Path f : manifests()) {
      for (JsonNode doc : documents(f)) {
        assertTrue(doc.hasNonNull("apiVersion") && doc.hasNonNull("kind") && doc.path("metadata").hasNonNull("name"), f.toString());
      }
    }
    assertTrue(yaml(Path.of("compose.yaml")).path("services").has("gateway"));
    assertTrue(yaml(Path.of("compose.yaml")).path("services").has("worker"));
  }

  @Test
  void portsAndProbesMatchTheServer() throws Exception {
    Config reference = ConfigFactory.load();
    int port = reference.getInt("exitflow.gateway.port");
    for (String deployment : List.of("gateway.yaml", "workers.yaml")) {
      JsonNode container = yaml(K8S.resolve(deployment)).at("/spec/template/spec/containers/0");
      assertEquals(Map.of("http", port, "remoting", reference.getInt("exitflow.cluster.port"),
          "management", reference.getInt("exitflow.cluster.pekko.management.http.port")), ports(container), deployment);
      assertEquals(String.valueOf(port), env(container, "EXITFLOW_PORT"), deployment);
      for (String probe : List.of("readinessProbe", "livenessProbe")) {
        String path = container.at("/" + probe + "/httpGet/path").asText();
        assertEquals(200, get(path).statusCode(), deployment + " " + probe + " " + path);
      }
      assertEquals("/health/ready", container.at("/readinessProbe/httpGet/path").asText());
    }
    JsonNode annotations = yaml(K8S.resolve("gateway.yaml")).at("/spec/template/metadata/annotations");
    assertEquals(port, annotations.get("prometheus.io/port").asInt());
    assertEquals(200, get(annotations.get("prometheus.io/path").asText()).statusCode());
    assertTrue(Files.readString(Path.of("Dockerfile")).contains("EXPOSE " + port));
    assertTrue(yaml(Path.of("compose.yaml")).at("/services/gateway/ports/0").asText().endsWith(":" + port));
  }

  @Test
  void rolesAndDiscoveryLabelsMatchTheCluster() throws Exception {
    Config reference = ConfigFactory.load();
    Config pekko = reference.getConfig("exitflow.cluster.pekko"); // what a cluster node puts on top of Pekko's defaults
    String selector = pekko.getString("discovery.kubernetes-api.pod-label-selector")
        .replace("%s", pekko.getString("management.cluster.bootstrap.contact-point-discovery.service-name"));
    String[] label = selector.split("=");
    for (String deployment : List.of("gateway.yaml", "workers.yaml")) {
      JsonNode pod = yaml(K8S.resolve(deployment)).at("/spec/template");
      assertEquals(label[1], pod.at("/metadata/labels").path(label[0]).asText(), deployment + " pods carry " + selector);
      assertEquals("exitflow", pod.at("/spec/serviceAccountName").asText());
      String role = env(pod.at("/spec/containers/0"), "EXITFLOW_ROLES");
      assertEquals(deployment.startsWith("gateway") ? List.of("gateway") : List.of("worker"),
          dev.exitflow.actors.ClusterSettings.create(ConfigFactory.parseMap(Map.of("exitflow.cluster.roles", role))
              .withFallback(reference)).roles());
    }
    JsonNode role = documents(K8S.resolve("rbac.yaml")).get(1);
    assertTrue(role.at("/rules/0/resources").toString().contains("pods") && role.at("/rules/0/verbs").toString().contains("list"));
    assertEquals(1, yaml(K8S.resolve("workers.yaml"))
        .at("/spec/template/spec/containers/0/resources/limits").path("nvidia.com/gpu").asInt(), "a GPU per worker");
  }

  @Test
  void theAutoscalersMetricsAreExported() throws Exception {
    List<JsonNode> autoscalers = documents(K8S.resolve("hpa.yaml"));
    JsonNode workers = autoscalers.get(0).at("/spec/metrics/0/external/metric");
    String body = get("/metrics").body();
    String series = workers.path("name").asText() + "{stage=\"" + workers.at("/selector/matchLabels/stage").asText() + "\"}";
    assertTrue(body.contains(series), series + " is not in /metrics");
    assertEquals("exitflow-workers", autoscalers.get(0).at("/spec/scaleTargetRef/name").asText());
    assertEquals("exitflow-gateway", autoscalers.get(1).at("/spec/scaleTargetRef/name").asText());
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
    List<Path> files = new ArrayList<>(manifests());
    files.addAll(List.of(Path.of("Dockerfile"), Path.of("compose.yaml")));
    for (Path f : files) {
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
    assertTrue(yaml(K8S.resolve("gateway.yaml")).toString().contains("/etc/exitflow/application.conf"));
    assertTrue(yaml(K8S.resolve("workers.yaml")).toString().contains("/etc/exitflow/application.conf"));
  }

  private static Map<String, Integer> ports(JsonNode container) {
    Map<String, Integer> ports = new java.util.TreeMap<>();
    container.get("ports").forEach(p -> ports.put(p.get("name").asText(), p.get("containerPort").asInt()));
    return ports;
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
