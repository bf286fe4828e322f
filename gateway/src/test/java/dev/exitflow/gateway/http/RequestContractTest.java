package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.streams.kafka.EmbeddedKafka;
import dev.exitflow.streams.kafka.KafkaHeaders;
import dev.exitflow.streams.kafka.KafkaPipeline;
import dev.exitflow.streams.kafka.KafkaSettings;
import dev.exitflow.streams.request.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One table of bad requests, sent over all four transports (HTTP JSON body, WebSocket frame, bulk
 * line, Kafka record) to one real server and one real broker: each row must get the same error code
 * everywhere, with the HTTP status of {@link ErrorCode}, the id echoed where the request had a
 * valid one, and the server healthy after it all.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RequestContractTest {
  private static final int MAX_CHARS = 2000;
  private static RunningServer server;
  private static EmbeddedKafka kafka;
  private static KafkaPipeline pipeline;
  private static KafkaSettings kafkaSettings;
  private static Materializer mat;

  /** A bad request: its bytes (one line, a JSON object), the code it must get, whether its id comes back. */
  private record Row(String name, byte[] bytes, ErrorCode code, boolean idEchoed) {}

  private static final List<Row> ROWS = new ArrayList<>();

  private static void field(String name, String field, String json, ErrorCode code) {
    ROWS.add(new Row(name, utf8("{\"id\": \"" + name + "\", \"input\": \"a fine sentence\", \"" + field + "\": "
        + json + "}"), code, true));
  }

  private static void body(String name, String json, ErrorCode code, boolean idEchoed) {
    ROWS.add(new Row(name, utf8(json), code, idEchoed));
  }

  private static void bytes(String name, ErrorCode code, Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object p : parts) {
      out.writeBytes(p instanceof String s ? utf8(s) : (byte[]) p);
    }
    ROWS.add(new Row(name, out.toByteArray(), code, false));
  }

  static {
    // Fractional and string numbers, out of range, unknown names, wrong types, nesting.
    field("dims-fraction", "dimensions", "1.5", ErrorCode.INVALID_TYPE);
    field("dims-fraction-3.7", "dimensions", "3.7", ErrorCode.INVALID_TYPE);
    field("dims-string", "dimensions", "\"64\"", ErrorCode.INVALID_TYPE);
    field("dims-bool", "dimensions", "true", ErrorCode.INVALID_TYPE);
    field("dims-zero", "dimensions", "0", ErrorCode.DIMENSIONS_OUT_OF_RANGE);
    field("dims-too-many", "dimensions", "4096", ErrorCode.DIMENSIONS_OUT_OF_RANGE);
    field("dims-huge", "dimensions", "99999999999999999999999", ErrorCode.DIMENSIONS_OUT_OF_RANGE);
    field("deadline-word", "deadline_ms", "\"soon\"", ErrorCode.INVALID_TYPE);
    field("deadline-fraction", "deadline_ms", "2.5", ErrorCode.INVALID_TYPE);
    field("deadline-zero", "deadline_ms", "0", ErrorCode.DEADLINE_OUT_OF_RANGE);
    field("deadline-negative", "deadline_ms", "-5", ErrorCode.DEADLINE_OUT_OF_RANGE);
    field("deadline-huge", "deadline_ms", "1000000000000000000000", ErrorCode.DEADLINE_OUT_OF_RANGE);
    field("exit-unknown", "exit", "\"sideways\"", ErrorCode.UNKNOWN_EXIT);
    field("exit-not-an-exit", "exit", "\"7\"", ErrorCode.UNKNOWN_EXIT);
    field("exit-layer-3", "exit", "3", ErrorCode.UNKNOWN_EXIT);
    field("exit-object", "exit", "{\"layer\": 2}", ErrorCode.INVALID_TYPE);
    field("exit-bool", "exit", "true", ErrorCode.INVALID_TYPE);
    field("exit-fraction", "exit", "2.5", ErrorCode.INVALID_TYPE);
    field("priority-unknown", "priority", "\"urgent\"", ErrorCode.UNKNOWN_PRIORITY);
    field("priority-number", "priority", "1", ErrorCode.INVALID_TYPE);
    field("model-unknown", "model", "\"nope\"", ErrorCode.UNKNOWN_MODEL);
    field("model-number", "model", "5", ErrorCode.INVALID_TYPE);
    field("encoding-unknown", "encoding_format", "\"int8\"", ErrorCode.UNSUPPORTED_ENCODING);
    field("encoding-array", "encoding_format", "[\"float\"]", ErrorCode.INVALID_TYPE);
    field("upgrade-string", "upgrade", "\"yes\"", ErrorCode.INVALID_TYPE);
    field("upgrade-number", "upgrade", "1", ErrorCode.INVALID_TYPE);
    field("user-number", "user", "42", ErrorCode.INVALID_TYPE);
    // The id itself, and the input.
    body("id-object", "{\"id\": {\"a\": 1}, \"input\": \"text\"}", ErrorCode.INVALID_TYPE, false);
    body("id-fraction", "{\"id\": 1.5, \"input\": \"text\"}", ErrorCode.INVALID_TYPE, false);
    body("id-array", "{\"id\": [1], \"input\": \"text\"}", ErrorCode.INVALID_TYPE, false);
    body("input-null", "{\"id\": \"input-null\", \"input\": null}", ErrorCode.MISSING_INPUT, true);
    body("input-absent", "{\"id\": \"input-absent\"}", ErrorCode.MISSING_INPUT, true);
    body("input-number", "{\"id\": \"input-number\", \"input\": 42}", ErrorCode.INVALID_TYPE, true);
    body("input-token-ids", "{\"id\": \"input-token-ids\", \"input\": [[1, 2]]}", ErrorCode.INVALID_TYPE, true);
    body("input-object", "{\"id\": \"input-object\", \"input\": {\"text\": \"x\"}}", ErrorCode.INVALID_TYPE, true);
    body("input-blank", "{\"id\": \"input-blank\", \"input\": \"   \"}", ErrorCode.EMPTY_INPUT, true);
    body("input-oversize", "{\"id\": \"input-oversize\", \"input\": \"" + "x".repeat(MAX_CHARS + 1) + "\"}",
        ErrorCode.INPUT_TOO_LONG, true);
    body("input-lone-surrogate", "{\"id\": \"input-lone-surrogate\", \"input\": \"a \\ud800 b\"}", ErrorCode.BAD_UTF8, true);
    // Bytes: bad UTF-8, bad JSON, duplicate keys, trailing content, nesting beyond the parser's limit.
    bytes("utf8-truncated", ErrorCode.BAD_UTF8, "{\"id\": \"u1\", \"input\": \"caf", new byte[] {(byte) 0xc3}, "\"}");
    bytes("utf8-invalid", ErrorCode.BAD_UTF8, "{\"input\": \"ok ", new byte[] {(byte) 0xff, (byte) 0xfe}, "\"}");
    bytes("utf8-overlong", ErrorCode.BAD_UTF8, "{\"input\": \"", new byte[] {(byte) 0xc0, (byte) 0xaf}, "\"}");
    body("json-unterminated", "{\"id\": \"j\", \"input\": \"x\"", ErrorCode.INVALID_JSON, false);
    body("json-trailing", "{\"input\": \"x\"} {\"input\": \"y\"}", ErrorCode.INVALID_JSON, false);
    body("json-duplicate-key", "{\"input\": \"x\", \"input\": \"y\"}", ErrorCode.INVALID_JSON, false);
    body("json-deep", "{\"input\": \"x\", \"exit\": " + "[".repeat(3000) + "]".repeat(3000) + "}",
        ErrorCode.INVALID_JSON, false);
  }

  @BeforeAll
  static void start() {
    server = new RunningServer("exitflow.requests.max-input-chars = " + MAX_CHARS
        + "\nexitflow.kafka.embedded.port = 0\nexitflow.kafka.commit.max-interval = 200ms");
    mat = Materializer.matFromSystem(server.system);
    Config config = ConfigFactory.parseString("exitflow.kafka.embedded.port = 0\nexitflow.requests.max-input-chars = "
        + MAX_CHARS).withFallback(ConfigFactory.load());
    kafka = EmbeddedKafka.start(config);
    kafkaSettings = KafkaSettings.create(config)
        .withBootstrapServers(kafka.bootstrapServers())
        .withGroupId("contract-group")
        .withTopics(new KafkaSettings.Topics("contract-requests", "contract-results", "contract-dead-letter", true, 1,
            (short) -1));
    pipeline = KafkaPipeline.start(server.system, server.runtime, kafkaSettings);
  }

  @AfterAll
  static void stop() throws Exception {
    if (pipeline != null) {
      pipeline.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (kafka != null) {
      kafka.close();
    }
    server.close();
  }

  @Test
  void everyBadValueGetsTheSameCodeOnEveryTransport() throws Exception {
    Map<String, String> kafkaCodes = kafkaDeadLetters(); // sent first: the pipeline works while the rest runs
    List<String> mismatches = new ArrayList<>();
    for (Row row : ROWS) {
      String want = row.code().code();
      check(mismatches, row, "kafka", kafkaCodes.get(row.name()), null);

      HttpResponse<String> http = server.http.send(HttpRequest.newBuilder(URI.create(server.base() + "/v1/embeddings"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(row.bytes())).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode httpError = HttpJson.parse(http.body()).path("error");
      check(mismatches, row, "http", httpError.path("code").asText(null), null);
      if (http.statusCode() != row.code().status()) {
        mismatches.add(row.name() + " over http: status " + http.statusCode() + ", want " + row.code().status());
      }
      assertEquals(row.code().type(), httpError.path("type").asText(), row.name());

      JsonNode binary = webSocket(BinaryMessage.create(ByteString.fromArray(row.bytes())));
      check(mismatches, row, "websocket (binary frame)", binary.path("error").path("code").asText(null), binary);
      if (isUtf8(row.bytes())) {
        JsonNode text = webSocket(TextMessage.create(new String(row.bytes(), StandardCharsets.UTF_8)));
        check(mismatches, row, "websocket (text frame)", text.path("error").path("code").asText(null), text);
      }

      JsonNode line = bulkLine(row.bytes());
      check(mismatches, row, "bulk line", line.path("error").path("code").asText(null), line);
      assertEquals(1, line.path("line").asInt(), row.name());
    }
    assertTrue(mismatches.isEmpty(), mismatches.size() + " mismatches:\n" + String.join("\n", mismatches));
    System.out.printf("contract: %d bad requests, the same code on HTTP, WebSocket (binary and text), bulk and Kafka%n",
        ROWS.size());

    // Still healthy, and good requests with nulls for absent options still work everywhere.
    assertEquals(200, server.get("/health/ready").statusCode());
    String good = "{\"id\": 7, \"input\": \"still fine\", \"dimensions\": null, \"exit\": 4, \"deadline_ms\": null}";
    HttpResponse<String> ok = server.post("/v1/embeddings", good);
    assertEquals(200, ok.statusCode(), ok.body());
    JsonNode frame = webSocket(TextMessage.create(good));
    assertEquals(7, frame.path("id").asInt(), frame.toString());
    assertEquals(4, frame.path("exit_layer").asInt(), frame.toString());
    assertEquals(4, bulkLine(utf8(good)).path("exit_layer").asInt());
    String metrics = server.get("/metrics").body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("exitflow_http_errors_total{") && l.contains("code=\"unknown_exit\"")
        && l.contains("route=\"embeddings\"") && l.contains("status=\"422\"")), metrics);
    for (String route : List.of("stream", "bulk")) {
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith("exitflow_stream_errors_total{") && l.contains("code=\"bad_utf8\"")
          && l.contains("route=\"" + route + "\"")), route + " errors by code in\n" + metrics);
    }
  }

  @Test
  void bulkQueryParametersAreDecodedAsStrictlyAsJsonFields() throws Exception {
    Map<String, ErrorCode> queries = new LinkedHashMap<>();
    queries.put("dimensions=x", ErrorCode.INVALID_TYPE);
    queries.put("dimensions=1.5", ErrorCode.INVALID_TYPE);
    queries.put("dimensions=0", ErrorCode.DIMENSIONS_OUT_OF_RANGE);
    queries.put("dimensions=99999999999999999999999", ErrorCode.DIMENSIONS_OUT_OF_RANGE);
    queries.put("model=nope", ErrorCode.UNKNOWN_MODEL);
    queries.put("priority=x", ErrorCode.UNKNOWN_PRIORITY);
    queries.put("exit=7", ErrorCode.UNKNOWN_EXIT);
    queries.put("exit=sideways", ErrorCode.UNKNOWN_EXIT);
    queries.put("deadline_ms=soon", ErrorCode.INVALID_TYPE);
    queries.put("deadline_ms=0", ErrorCode.DEADLINE_OUT_OF_RANGE);
    for (Map.Entry<String, ErrorCode> q : queries.entrySet()) {
      HttpResponse<String> r = server.http.send(HttpRequest.newBuilder(URI.create(server.base() + "/v1/bulk?" + q.getKey()))
          .POST(HttpRequest.BodyPublishers.ofString("a line\n")).build(), HttpResponse.BodyHandlers.ofString());
      EmbeddingsRouteTest.assertError(r, q.getValue().status(), q.getValue().code());
    }
    HttpResponse<String> ok = server.http.send(HttpRequest.newBuilder(URI.create(server.base()
            + "/v1/bulk?exit=shallow&dimensions=8&priority=interactive&model=all-minilm-l6-v2&deadline_ms=5000"))
        .POST(HttpRequest.BodyPublishers.ofString("a line\n{\"input\": \"two\", \"dimensions\": 4}\n")).build(),
        HttpResponse.BodyHandlers.ofString());
    List<JsonNode> lines = ok.body().lines().map(HttpJson::parse).toList();
    assertEquals(8, lines.get(0).get("embedding").size());
    assertEquals(2, lines.get(0).get("exit_layer").asInt());
    assertEquals(4, lines.get(1).get("embedding").size());
  }

  @Test
  void oddButValidTextIsServedEverywhere() throws Exception {
    List<String> odd = List.of("\u0000", "\u200b", "\u0301\u0301", "\uD83D\uDE00", "\t\u00a0x", "\\", "\"quoted\"",
        "\u202e reversed", "\uFFFF", "x".repeat(MAX_CHARS));
    for (String text : odd) {
      String json = HttpJson.string(java.util.Map.of("id", "odd", "input", text));
      HttpResponse<String> r = server.post("/v1/embeddings", json);
      assertEquals(200, r.statusCode(), HttpJson.string(text) + ": " + r.body());
      assertEquals(384, webSocket(TextMessage.create(json)).path("embedding").size(), HttpJson.string(text));
      assertEquals(384, bulkLine(utf8(json)).path("embedding").size(), HttpJson.string(text));
    }
  }

  private static void check(List<String> mismatches, Row row, String transport, String got, JsonNode frame) {
    if (!row.code().code().equals(got)) {
      mismatches.add(row.name() + " over " + transport + ": " + got + ", want " + row.code().code()
          + (frame == null ? "" : " in " + abbreviate(frame.toString())));
    } else if (frame != null && row.idEchoed() && !row.name().equals(frame.path("id").asText(null))) {
      mismatches.add(row.name() + " over " + transport + ": id not echoed in " + abbreviate(frame.toString()));
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  /** Sends one frame on a new connection and returns the first frame back. */
  private static JsonNode webSocket(Message frame) throws Exception {
    CompletableFuture<Void> enough = new CompletableFuture<>();
    Sink<Message, java.util.concurrent.CompletionStage<JsonNode>> sink = Flow.<Message>create()
        .mapAsync(1, m -> m.asTextMessage().toStrict(5000, mat))
        .map(t -> HttpJson.parse(t.getStrictText()))
        .watchTermination((m, done) -> done.thenRun(() -> enough.complete(null)))
        .toMat(Sink.head(), (a, b) -> b);
    Source<Message, ?> source = Source.single(frame).concat(Source.completionStage(enough).flatMapConcat(v -> Source.empty()));
    var pair = Http.get(server.system).singleWebSocketRequest(
        WebSocketRequest.create("ws://127.0.0.1:" + server.server.port() + "/v1/stream"),
        Flow.fromSinkAndSourceMat(sink, source, (a, b) -> a), mat);
    return pair.second().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static JsonNode bulkLine(byte[] line) throws Exception {
    byte[] body = new byte[line.length + 1];
    System.arraycopy(line, 0, body, 0, line.length);
    body[line.length] = '\n';
    HttpResponse<String> r = server.http.send(HttpRequest.newBuilder(URI.create(server.base() + "/v1/bulk"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return HttpJson.parse(r.body().lines().findFirst().orElseThrow());
  }

  /** Produces every row as a record keyed by its name; returns the code header of each dead letter by key. */
  private static Map<String, String> kafkaDeadLetters() throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (Row row : ROWS) {
        producer.send(new ProducerRecord<>(kafkaSettings.topics().requests(), utf8(row.name()), row.bytes())).get();
      }
    }
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "contract-reader");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, String> codes = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(kafkaSettings.topics().deadLetter()));
      long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (codes.size() < ROWS.size() && System.nanoTime() < until) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          var h = r.headers().lastHeader(KafkaHeaders.ERROR_CODE);
          assertNotNull(h, "dead letter without a code");
          codes.put(new String(r.key(), StandardCharsets.UTF_8), new String(h.value(), StandardCharsets.UTF_8));
        }
      }
    }
    return codes;
  }

  private static boolean isUtf8(byte[] b) {
    try {
      StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b));
      return true;
    } catch (java.nio.charset.CharacterCodingException e) {
      return false;
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
