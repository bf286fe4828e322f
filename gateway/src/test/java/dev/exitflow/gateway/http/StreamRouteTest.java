package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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

/** The WebSocket route with a real Pekko HTTP client over a real socket. */
class StreamRouteTest {
  /** How long admissions must stand still to count as stalled. */
  private static final Duration STILL = Duration.ofSeconds(3);
  private static RunningServer server;
  private static Materializer mat;

  @BeforeAll
  static void start() {
    server = new RunningServer("exitflow.gateway.websocket-parallelism = 32");
    mat = Materializer.matFromSystem(server.system);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private String url() {
    return "ws://127.0.0.1:" + server.server.port() + "/v1/stream";
  }

  /** Sends the frames, then keeps the socket open until {@code expected} frames came back. */
  private List<JsonNode> exchange(List<Message> frames, int expected) throws Exception {
    CompletableFuture<Void> enough = new CompletableFuture<>();
    Sink<Message, CompletionStage<List<JsonNode>>> sink = Flow.<Message>create()
        .mapAsync(1, m -> m.asTextMessage().toStrict(5000, mat))
        .map(t -> HttpJson.parse(t.getStrictText()))
        .take(expected)
        .watchTermination((mat, done) -> done.thenRun(() -> enough.complete(null)))
        .toMat(Sink.seq(), (a, b) -> b);
    Source<Message, ?> source = Source.from(frames).concat(Source.completionStage(enough).flatMapConcat(v -> Source.empty()));
    var pair = Http.get(server.system).singleWebSocketRequest(WebSocketRequest.create(url()),
        Flow.fromSinkAndSourceMat(sink, source, (a, b) -> a), mat);
    return pair.second().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void resultsComeBackWithTheirIdsAndBadFramesGetErrorFrames() throws Exception {
    List<Message> frames = List.of(
        TextMessage.create("{\"id\": 1, \"input\": \"a dog barks\", \"exit\": \"shallow\"}"),
        TextMessage.create("{\"id\": \"two\", \"input\": \"a cat sleeps\", \"dimensions\": 16}"),
        TextMessage.create("{\"id\": 3, \"input\": 42}"),
        TextMessage.create("not json at all"),
        BinaryMessage.create(ByteString.fromString("binary")),
        TextMessage.create("{\"id\": 6, \"input\": \"still going\", \"exit\": \"7\"}"),
        TextMessage.create("{\"id\": 7, \"input\": \"still going\", \"exit\": \"4\"}"));
    Map<String, JsonNode> byId = new HashMap<>();
    int anonymousErrors = 0;
    for (JsonNode frame : exchange(frames, 7)) {
      if (frame.has("id")) {
        byId.put(frame.get("id").asText(), frame);
      } else {
        assertTrue(frame.has("error"), frame.toString());
        anonymousErrors++;
      }
    }
    assertEquals(2, byId.get("1").get("exit_layer").asInt());
    assertEquals(384, byId.get("1").get("embedding").size());
    assertEquals(16, byId.get("two").get("embedding").size());
    assertEquals(6, byId.get("two").get("exit_layer").asInt());
    assertEquals("invalid_type", byId.get("3").get("error").get("code").asText());
    assertEquals("unknown_exit", byId.get("6").get("error").get("code").asText());
    assertEquals(4, byId.get("7").get("exit_layer").asInt(), "the stream went on after bad frames");
    assertEquals(2, anonymousErrors, "the non-JSON and the binary frame");
  }

  @Test
  void upgradeSendsTheShallowResultFirstAndTheDeepOneFinal() throws Exception {
    List<JsonNode> frames = exchange(List.of(
        TextMessage.create("{\"id\": \"u\", \"input\": \"A man is playing the guitar on stage.\", \"upgrade\": true}")), 2);
    assertEquals(2, frames.get(0).get("exit_layer").asInt());
    assertFalse(frames.get(0).get("final").asBoolean());
    assertEquals(6, frames.get(1).get("exit_layer").asInt());
    assertTrue(frames.get(1).get("final").asBoolean());
    assertEquals("u", frames.get(1).get("id").asText());
  }

  @Test
  void aClientThatStopsReadingStopsBeingRead() throws Exception {
    int total = 6000;
    long admittedBefore = server.runtime.stats().toCompletableFuture().get().admitted();
    CompletableFuture<Void> resume = new CompletableFuture<>();
    CompletableFuture<Void> paused = new CompletableFuture<>();
    AtomicInteger consumed = new AtomicInteger();
    Sink<Message, CompletionStage<Integer>> slowReader = Flow.<Message>create()
        .mapAsync(1, m -> m.asTextMessage().toStrict(5000, mat))
        .mapAsync(1, t -> {
          if (consumed.incrementAndGet() != 50) {
            return CompletableFuture.completedFuture(t);
          }
          paused.complete(null);
          return resume.thenApply(v -> t);
        })
        .take(total)
        .toMat(Sink.fold(0, (n, t) -> n + 1), (a, b) -> b);
    Source<Message, ?> fastWriter = Source.range(1, total)
        .map(i -> (Message) TextMessage.create("{\"id\": " + i + ", \"input\": \"sentence " + i + "\", \"exit\": \"shallow\"}"))
        .concat(Source.maybe());
    var pair = Http.get(server.system).singleWebSocketRequest(WebSocketRequest.create(url()),
        Flow.fromSinkAndSourceMat(slowReader, fastWriter, (a, b) -> a), mat);

    paused.get(60, TimeUnit.SECONDS); // the reader holds its 50th result from here on
    long stalledAt = waitForStall(admittedBefore);
    assertTrue(consumed.get() <= 50, "the reader is paused");
    assertTrue(stalledAt < total - 1000,
        "the server stopped taking requests while nobody read the results: " + stalledAt + " of " + total);

    resume.complete(null);
    assertEquals(total, pair.second().toCompletableFuture().get(120, TimeUnit.SECONDS));
  }

  /**
   * Admitted requests, counted from {@code base}, once they have not grown for {@link #STILL}
   * (sampled every 100 ms, so a loaded machine's slow second is not taken for a stall).
   */
  private static long waitForStall(long base) throws Exception {
    long last = -1;
    long since = System.nanoTime();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      Thread.sleep(100);
      long now = server.runtime.stats().toCompletableFuture().get().admitted() - base;
      if (now != last) {
        last = now;
        since = System.nanoTime();
      } else if (now > 0 && System.nanoTime() - since >= STILL.toNanos()) {
        return now;
      }
    }
    throw new AssertionError("admissions never stalled for " + STILL + "; last count " + last);
  }
}
