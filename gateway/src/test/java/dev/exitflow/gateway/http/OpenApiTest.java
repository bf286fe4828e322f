package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.gateway.ExitflowService;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /openapi.json} is a valid OpenAPI 3.1 document and the server agrees with it both ways:
 * every described operation answers (no 404 for the route, no 405), every method a described path
 * takes is described (the server's {@code Allow} lists exactly those), nothing answers beside a
 * described path, and every route the README's table lists is described.
 */
class OpenApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static ExitflowService service;
  private static String body;
  private static OpenAPI api;

  @BeforeAll
  static void start() throws Exception {
    // the whole gateway as serve runs it (Files and Batch API included), Kafka off
    Config config = ConfigFactory.parseString("exitflow.gateway { port = 0, kafka = off }").withFallback(ConfigFactory.load());
    service = ExitflowService.start(config,
        new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), GatewaySettings.create(config));
    service.ready().toCompletableFuture().join();
    HttpResponse<String> r = send("GET", "/openapi.json");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
    body = r.body();
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    SwaggerParseResult parsed = new OpenAPIV3Parser().readContents(body, null, options);
    assertEquals(java.util.List.of(), parsed.getMessages(), "swagger-parser's complaints");
    api = parsed.getOpenAPI();
  }

  @AfterAll
  static void stop() {
    service.shutdown().toCompletableFuture().join();
  }

  private static HttpResponse<String> send(String method, String path) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.server().port() + path));
    b = method.equals("GET") || method.equals("DELETE") ? b.method(method, HttpRequest.BodyPublishers.noBody())
        : b.method(method, HttpRequest.BodyPublishers.ofString("{}")).header("Content-Type", "application/json");
    if (path.equals("/console/events")) { // endless: the status and headers are all we read
      HttpResponse<InputStream> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
      r.body().close();
      return new HttpResponse<>() {
        public int statusCode() { return r.statusCode(); }
        public HttpRequest request() { return r.request(); }
        public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
        public java.net.http.HttpHeaders headers() { return r.headers(); }
        public String body() { return ""; }
        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
        public URI uri() { return r.uri(); }
        public HttpClient.Version version() { return r.version(); }
      };
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A concrete path for a template: each parameter filled with an example the server has a route for. */
  private static String concrete(String template) {
    return template.replace("{asset}", "console.js").replace("{id}", "some-id");
  }

  private static Set<String> methods(PathItem item) {
    return item.readOperationsMap().keySet().stream().map(Enum::name).collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void isOpenApi31WithExitflowsFieldsDocumented() {
    assertTrue(api.getOpenapi().startsWith("3.1"), api.getOpenapi());
    var request = api.getComponents().getSchemas().get("EmbeddingsRequest").getProperties();
    for (String field : java.util.List.of("exit", "deadline_ms", "priority", "min_fidelity", "dimensions")) {
      assertTrue(request.containsKey(field), field);
      assertTrue(((io.swagger.v3.oas.models.media.Schema<?>) request.get(field)).getDescription() != null, field);
    }
    JsonNode results = readTree().at("/components/schemas/EmbedResponse/properties/results/items/properties");
    for (String field : java.util.List.of("exit_layer", "exit_fidelity", "exit_reason", "queue_ms", "compute_ms")) {
      assertTrue(results.has(field), field);
    }
  }

  private static JsonNode readTree() {
    try {
      return JSON.readTree(body);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Every field of real answers is described, Exitflow's extra ones included, at every depth
   * (a described field may be absent: Kafka's counters, say, exist only with a pipeline).
   */
  @Test
  void realAnswersHaveExactlyTheDescribedFields() throws Exception {
    HttpResponse<String> embed = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + service.server().port() + "/v1/embed")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"a text\", \"exit\": \"auto\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, embed.statusCode());
    HttpResponse<String> embeddings = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + service.server().port() + "/v1/embeddings")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"input\": [\"a\", \"b\"], \"exit\": \"shallow\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, embeddings.statusCode());
    Map<String, String> answers = Map.of(
        "EmbedResponse", embed.body(), "EmbeddingsResponse", embeddings.body(),
        "ModelList", send("GET", "/v1/models").body(), "Health", send("GET", "/health").body(),
        "Error", send("GET", "/v1/undescribed").body());
    for (var a : answers.entrySet()) {
      sameFields(a.getKey(), readTree().at("/components/schemas/" + a.getKey()), JSON.readTree(a.getValue()));
    }
  }

  private static void sameFields(String where, JsonNode schema, JsonNode value) {
    if (schema.has("$ref")) {
      schema = readTree().at(schema.get("$ref").asText().substring(1));
    }
    if (value.isObject() && schema.has("properties")) {
      Set<String> described = new TreeSet<>();
      schema.get("properties").fieldNames().forEachRemaining(described::add);
      Set<String> answered = new TreeSet<>();
      value.fieldNames().forEachRemaining(answered::add);
      assertTrue(described.containsAll(answered), where + ": answered " + answered + ", described " + described);
      for (String f : answered) {
        sameFields(where + "." + f, schema.get("properties").get(f), value.get(f));
      }
    } else if (value.isArray() && schema.has("items")) {
      for (JsonNode item : value) {
        sameFields(where + "[]", schema.get("items"), item);
      }
    }
  }

  @Test
  void everyDescribedOperationAnswers() throws Exception {
    assertTrue(api.getPaths().size() >= 20, "paths: " + api.getPaths().keySet());
    for (Map.Entry<String, PathItem> p : api.getPaths().entrySet()) {
      for (String method : methods(p.getValue())) {
        HttpResponse<String> r = send(method, concrete(p.getKey()));
        String what = method + " " + p.getKey() + ": " + r.statusCode() + " " + r.body();
        assertNotEquals(405, r.statusCode(), what);
        assertTrue(r.statusCode() != 404 || !r.body().contains("\"not_found\""), what);
        // a status the description does not list is a description out of date
        var responses = p.getValue().readOperationsMap().get(PathItem.HttpMethod.valueOf(method)).getResponses();
        assertTrue(responses.containsKey(String.valueOf(r.statusCode())), what + " is not among " + responses.keySet());
      }
    }
  }

  @Test
  void everyMethodTheServerTakesOnADescribedPathIsDescribed() throws Exception {
    for (Map.Entry<String, PathItem> p : api.getPaths().entrySet()) {
      if (p.getKey().equals("/v1/stream")) {
        continue; // a WebSocket takes any method and answers 400 to a request that is not an upgrade
      }
      HttpResponse<String> r = send("PATCH", concrete(p.getKey())); // no route takes PATCH
      assertEquals(405, r.statusCode(), p.getKey() + ": " + r.body());
      Set<String> allowed = Arrays.stream(r.headers().firstValue("allow").orElse("").split(","))
          .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new));
      assertEquals(methods(p.getValue()), allowed, p.getKey() + ": what the server allows vs what is described");
    }
  }

  @Test
  void nothingAnswersBesideADescribedPath() throws Exception {
    List<Pattern> described = api.getPaths().keySet().stream()
        .map(t -> Pattern.compile(t.replaceAll("\\{[^}]+}", "[^/]+"))).toList();
    for (String path : api.getPaths().keySet()) {
      String beside = concrete(path).replaceAll("/$", "") + "/undescribed";
      if (described.stream().anyMatch(d -> d.matcher(beside).matches())) {
        continue; // e.g. /v1/models/undescribed is /v1/models/{id}
      }
      for (String method : java.util.List.of("GET", "POST")) {
        HttpResponse<String> r = send(method, beside);
        assertEquals(404, r.statusCode(), method + " " + beside + ": " + r.body());
      }
    }
    assertEquals(404, send("GET", "/v1/undescribed").statusCode());
  }

  @Test
  void everyRouteTheReadmeListsIsDescribed() throws Exception {
    String readme = Files.readString(Path.of("..", "README.md"));
    Matcher m = Pattern.compile("`(GET|POST|DELETE|PUT) (/[^`\\s]*)`").matcher(readme);
    int n = 0;
    while (m.find()) {
      String path = m.group(2).replaceAll("\\?.*", "");
      PathItem item = api.getPaths().get(path);
      assertTrue(item != null, "README's " + m.group() + " is not in /openapi.json");
      assertTrue(methods(item).contains(m.group(1)), "README's " + m.group() + ": described " + methods(item));
      n++;
    }
    assertTrue(n >= 20, "routes found in the README: " + n);
  }
}
