package dev.exitflow.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Streams in flight when SIGTERM comes finish (the packaged jar, a real signal): a bulk upload
 * still being sent is read to its end and every line answered; a WebSocket session answers every
 * frame it admitted, then says goodbye (1001, server shutting down) and closes; a new request meanwhile
 * gets a 503 JSON error. The process then exits 0.
 */
class DrainOnSigtermTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int LINES = 3_000;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void bulkUploadAndWebSocketInFlightFinishAfterSigterm() throws Exception {
    Path dir = Path.of("target/drain-on-sigterm").toAbsolutePath();
    ServeProcess serve = ServeProcess.start(dir, "serve.log", dir.resolve("data"), 0);
    try {
      URI url = URI.create(serve.awaitReady());
      HttpClient http = HttpClient.newHttpClient();

      // A WebSocket session with 200 requests sent, and a bulk upload that sends its lines over ~3 s.
      List<JsonNode> frames = new ArrayList<>();
      CompletableFuture<Integer> closed = new CompletableFuture<>();
      CountDownLatch firstResult = new CountDownLatch(1);
      WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://" + url.getAuthority() + "/v1/stream"),
          new Collector(frames, firstResult, closed)).get(30, TimeUnit.SECONDS);
      for (int i = 0; i < 200; i++) {
        ws.sendText("{\"id\": " + i + ", \"input\": \"frame " + i + " of a session open at shutdown\", \"dimensions\": 8}",
            true).get(10, TimeUnit.SECONDS);
      }
      CompletableFuture<String> bulk = CompletableFuture.supplyAsync(() -> slowBulkUpload(url, serve));
      assertTrue(firstResult.await(60, TimeUnit.SECONDS), "the WebSocket got no result");
      awaitLinesSent(1_000);

      serve.process.destroy(); // SIGTERM, with both streams in flight
      HttpResponse<String> late = awaitDraining(http, url);
      assertEquals(503, late.statusCode(), late.body());
      assertTrue(late.body().contains("\"shutting_down\""), late.body());

      String body = bulk.get(90, TimeUnit.SECONDS);
      String[] lines = body.split("\n");
      assertEquals(LINES, lines.length, "every line of the upload is answered:\n" + tail(body));
      for (int i = 0; i < LINES; i++) {
        JsonNode line = JSON.readTree(lines[i]);
        assertEquals(i + 1, line.path("line").asInt(), lines[i]);
        assertTrue(line.has("embedding"), lines[i]);
      }

      assertEquals(1000, closed.get(60, TimeUnit.SECONDS), "Pekko HTTP closes a completed session with 1000");
      JsonNode goodbye = frames.get(frames.size() - 1);
      assertEquals(1001, goodbye.path("close_code").asInt(), goodbye.toString());
      assertEquals("shutting_down", goodbye.path("error").path("code").asText(), goodbye.toString());
      List<JsonNode> results = frames.subList(0, frames.size() - 1);
      Set<Integer> ids = new HashSet<>();
      for (JsonNode r : results) {
        assertTrue(r.has("embedding"), "a result, not an error: " + r);
        ids.add(r.path("id").asInt());
      }
      assertEquals(goodbye.path("admitted").asInt(), ids.size(), "every admitted frame answered once");
      assertTrue(ids.size() > 0, "the session admitted frames before the signal");
      System.out.printf("drain: bulk %d of %d lines answered; WebSocket %d of 200 frames admitted and answered, then 1001%n",
          lines.length, LINES, ids.size());

      assertEquals(0, serve.awaitExit(90));
      assertTrue(serve.crashFiles().isEmpty());
    } finally {
      serve.process.destroyForcibly();
    }
  }

  private static volatile int linesSent;

  /** Polls (with a deadline) until the upload has sent {@code n} lines. */
  private static void awaitLinesSent(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (linesSent < n) {
      assertTrue(System.nanoTime() < deadline, "the upload sent only " + linesSent + " lines in 60 s");
      Thread.sleep(10);
    }
  }

  /** The next request after SIGTERM, on a new connection: the drain answers it. */
  private static HttpResponse<String> awaitDraining(HttpClient http, URI url) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(url.resolve("/v1/embeddings"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"input\": \"after the signal\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200 || System.nanoTime() > deadline) {
        return r;
      }
      Thread.sleep(20);
    }
  }

  /**
   * POST /v1/bulk over a raw socket, chunked, 100 lines every 100 ms, while another thread reads
   * the response: the way a streaming client uploads. Returns the response body (de-chunked).
   */
  private static String slowBulkUpload(URI url, ServeProcess serve) {
    try (Socket socket = new Socket(url.getHost(), url.getPort())) {
      CompletableFuture<byte[]> response = CompletableFuture.supplyAsync(() -> {
        try {
          return socket.getInputStream().readAllBytes();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/bulk?dimensions=8 HTTP/1.1\r\nHost: " + url.getAuthority()
          + "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      for (int i = 0; i < LINES; i += 100) {
        StringBuilder chunk = new StringBuilder();
        for (int j = i; j < i + 100; j++) {
          chunk.append("{\"id\": ").append(j).append(", \"input\": \"bulk line ").append(j).append(" sent slowly\"}\n");
        }
        byte[] bytes = chunk.toString().getBytes(StandardCharsets.UTF_8);
        out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        linesSent = i + 100;
        Thread.sleep(100);
      }
      out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return dechunk(response.get(90, TimeUnit.SECONDS));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The body of an HTTP/1.1 response with chunked transfer encoding. */
  private static String dechunk(byte[] raw) throws java.io.IOException {
    String all = new String(raw, StandardCharsets.ISO_8859_1);
    int bodyStart = all.indexOf("\r\n\r\n") + 4;
    assertTrue(all.startsWith("HTTP/1.1 200"), all.substring(0, Math.min(200, all.length())));
    InputStream in = new java.io.ByteArrayInputStream(raw, bodyStart, raw.length - bodyStart);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      StringBuilder size = new StringBuilder();
      for (int c; (c = in.read()) != '\n'; ) {
        if (c < 0) {
          throw new java.io.EOFException("the response ended inside a chunk header");
        }
        size.append((char) c);
      }
      int n = Integer.parseInt(size.toString().trim().split(";")[0], 16);
      if (n == 0) {
        return body.toString(StandardCharsets.UTF_8);
      }
      body.write(in.readNBytes(n));
      in.readNBytes(2);
    }
  }

  private static String tail(String body) {
    return body.substring(Math.max(0, body.length() - 600));
  }

  /** Collects text messages (which may arrive in parts) as JSON, and the close status. */
  private record Collector(List<JsonNode> frames, CountDownLatch firstResult, CompletableFuture<Integer> closed,
      StringBuilder partial) implements WebSocket.Listener {
    Collector(List<JsonNode> frames, CountDownLatch firstResult, CompletableFuture<Integer> closed) {
      this(frames, firstResult, closed, new StringBuilder());
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        try {
          synchronized (frames) {
            frames.add(JSON.readTree(partial.toString()));
          }
        } catch (java.io.IOException e) {
          closed.completeExceptionally(e);
        }
        partial.setLength(0);
        firstResult.countDown();
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
      closed.complete(statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      closed.completeExceptionally(error);
    }
  }
}
