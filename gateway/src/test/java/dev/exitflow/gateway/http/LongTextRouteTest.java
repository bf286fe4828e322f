package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.exitflow.model.calibrate.Corpus;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code long_text: chunk} over real sockets on /v1/embeddings, /v1/embed, the WebSocket and
 * /v1/bulk: a 5,000-token text comes back as one normalised embedding with its chunk count, a text
 * past max-tokens-per-request (8192) as 413 input_too_large in each transport's error form.
 */
class LongTextRouteTest {
  private static RunningServer server;
  private static String text;
  private static int windows;
  private static String huge;

  @BeforeAll
  static void start() {
    server = new RunningServer("");
    text = prose(5000);
    windows = server.runtime.tokenizer().windows(text, 32).count();
    huge = prose(8300);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** Europarl sentences joined until the model's tokenizer counts {@code tokens}. */
  private static String prose(int tokens) {
    List<String> sentences = Corpus.named("europarl-en.txt");
    StringBuilder b = new StringBuilder();
    for (int i = 0; b.length() == 0 || server.runtime.tokenizer().windows(b.toString(), 32).tokens() < tokens; ) {
      for (int j = 0; j < 10; j++, i++) { // tokenize every 10 sentences, not every one
        b.append(b.length() == 0 ? "" : " ").append(sentences.get(i % sentences.size()));
      }
    }
    return b.toString();
  }

  private static String json(Object value) throws Exception {
    return HttpJson.MAPPER.writeValueAsString(value);
  }

  private static void assertUnit(JsonNode embedding) {
    double s = 0;
    for (JsonNode x : embedding) {
      s += x.asDouble() * x.asDouble();
    }
    assertEquals(1.0, Math.sqrt(s), 1e-4);
  }

  @Test
  void httpRoutesChunkAFiveThousandTokenText() throws Exception {
    assertTrue(windows >= 23 && windows <= 30, windows + " windows");
    HttpResponse<String> r = server.post("/v1/embeddings", json(Map.of(
        "input", List.of(text, "A short sentence."), "long_text", "chunk", "exit", 2)));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode data = HttpJson.parse(r.body()).get("data");
    assertEquals(windows, data.get(0).get("chunks").asInt());
    assertUnit(data.get(0).get("embedding"));
    assertEquals(1, data.get(1).get("chunks").asInt());
    assertTrue(HttpJson.parse(r.body()).get("usage").get("total_tokens").asInt() >= 5000);

    JsonNode deep = HttpJson.parse(server.post("/v1/embed", json(Map.of("input", text, "long_text", "chunk"))).body())
        .get("results").get(0);
    assertEquals(windows, deep.get("chunks").asInt());
    assertEquals(6, deep.get("exit_layer").asInt());
    assertFalse(deep.get("truncated").asBoolean());
    assertTrue(deep.get("tokens").asInt() >= 5000, deep.get("tokens").toString());
    assertUnit(deep.get("embedding"));

    // The default, as before: cut at 256 tokens and flagged, no chunk count.
    JsonNode cut = HttpJson.parse(server.post("/v1/embed", json(Map.of("input", text, "exit", 2))).body())
        .get("results").get(0);
    assertTrue(cut.get("truncated").asBoolean());
    assertEquals(256, cut.get("tokens").asInt());
    assertFalse(cut.has("chunks"));
  }

  @Test
  void httpRefusesTooManyTokensAndUnknownModes() throws Exception {
    HttpResponse<String> large = server.post("/v1/embeddings", json(Map.of("input", huge, "long_text", "chunk")));
    assertEquals(413, large.statusCode());
    JsonNode error = HttpJson.parse(large.body()).get("error");
    assertEquals("input_too_large", error.get("code").asText());
    assertEquals("input", error.get("param").asText());
    assertTrue(error.get("message").asText().contains("max-tokens-per-request"), error.toString());
    // Truncated, the same text is served as before.
    assertEquals(200, server.post("/v1/embeddings", json(Map.of("input", huge, "exit", 2))).statusCode());

    HttpResponse<String> mode = server.post("/v1/embeddings", "{\"input\": \"x\", \"long_text\": \"split\"}");
    assertEquals(422, mode.statusCode());
    assertEquals("unknown_long_text", HttpJson.parse(mode.body()).get("error").get("code").asText());
  }

  @Test
  void aTextThatFitsHasTheSameEmbeddingInBothModes() throws Exception {
    String sentence = "The committee adopted the report on the budget for the coming year.";
    JsonNode chunked = HttpJson.parse(server.post("/v1/embed", json(Map.of("input", sentence, "long_text", "chunk")))
        .body()).get("results").get(0);
    JsonNode plain = HttpJson.parse(server.post("/v1/embed", json(Map.of("input", sentence))).body())
        .get("results").get(0);
    assertEquals(1, chunked.get("chunks").asInt());
    assertEquals(plain.get("embedding"), chunked.get("embedding"));
  }

  @Test
  void webSocketFramesChunk() throws Exception {
    Materializer mat = Materializer.matFromSystem(server.system);
    List<Message> frames = List.of(
        TextMessage.create(json(Map.of("id", 1, "input", text, "long_text", "chunk", "exit", 2))),
        TextMessage.create(json(Map.of("id", 2, "input", text, "long_text", "chunk", "exit", 2, "upgrade", true))),
        TextMessage.create(json(Map.of("id", 3, "input", huge, "long_text", "chunk"))));
    CompletableFuture<Void> enough = new CompletableFuture<>();
    Sink<Message, CompletionStage<List<JsonNode>>> sink = Flow.<Message>create()
        .mapAsync(1, m -> m.asTextMessage().toStrict(5000, mat))
        .map(t -> HttpJson.parse(t.getStrictText()))
        .take(frames.size())
        .watchTermination((m, done) -> done.thenRun(() -> enough.complete(null)))
        .toMat(Sink.seq(), (a, b) -> b);
    Source<Message, ?> source = Source.from(frames).concat(Source.completionStage(enough).flatMapConcat(v -> Source.empty()));
    List<JsonNode> out = Http.get(server.system).singleWebSocketRequest(
            WebSocketRequest.create("ws://127.0.0.1:" + server.server.port() + "/v1/stream"),
            Flow.fromSinkAndSourceMat(sink, source, (a, b) -> a), mat)
        .second().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Map<Integer, JsonNode> byId = new HashMap<>();
    out.forEach(f -> byId.put(f.get("id").asInt(), f));
    assertEquals(3, byId.size(), out.toString().substring(0, Math.min(500, out.toString().length())));
    for (int id : List.of(1, 2)) { // upgrade has no preview to give for a chunked text: one final frame
      assertEquals(windows, byId.get(id).get("chunks").asInt());
      assertTrue(byId.get(id).get("final").asBoolean());
      assertUnit(byId.get(id).get("embedding"));
    }
    assertEquals(byId.get(1).get("embedding"), byId.get(2).get("embedding"));
    assertEquals("input_too_large", byId.get(3).get("error").get("code").asText());
  }

  @Test
  void bulkLinesChunkByQueryOrByLine() throws Exception {
    List<String> lines = new ArrayList<>();
    lines.add(text); // a plain-text line: the query's long_text
    lines.add(json(Map.of("input", text, "long_text", "truncate")));
    lines.add(json(Map.of("input", huge)));
    HttpRequest request = HttpRequest.newBuilder(URI.create(server.base() + "/v1/bulk?long_text=chunk&exit=2"))
        .header("Content-Type", "application/x-ndjson")
        .POST(HttpRequest.BodyPublishers.ofString(String.join("\n", lines) + "\n"))
        .build();
    HttpResponse<String> r = server.http.send(request, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    List<JsonNode> out = r.body().lines().map(HttpJson::parse).toList();
    assertEquals(3, out.size());
    assertEquals(windows, out.get(0).get("chunks").asInt());
    assertUnit(out.get(0).get("embedding"));
    assertFalse(out.get(1).has("chunks"));
    assertTrue(out.get(1).get("truncated").asBoolean());
    assertEquals("input_too_large", out.get(2).get("error").get("code").asText());
    assertEquals(3, out.get(2).get("line").asInt());

    HttpResponse<String> bad = server.http.send(HttpRequest.newBuilder(
            URI.create(server.base() + "/v1/bulk?long_text=maybe")).header("Content-Type", "application/x-ndjson")
        .POST(HttpRequest.BodyPublishers.ofString("x\n")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(422, bad.statusCode());
    assertEquals("unknown_long_text", HttpJson.parse(bad.body()).get("error").get("code").asText());
  }
}
