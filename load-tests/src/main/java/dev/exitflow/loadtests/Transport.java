package dev.exitflow.loadtests;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One way of asking a server for embeddings, as a client in another process would: {@link #send}
 * starts request {@code i} (the i-th sentence at the given exit) and completes with its answer;
 * an error answer completes exceptionally.
 */
interface Transport extends AutoCloseable {
  CompletionStage<?> send(int i);

  @Override
  default void close() throws Exception {}

  /** Request bodies name the exit; {@code text} gives the i-th sentence, JSON-quoted. */
  static String body(IntFunction<String> text, int i, String exit, String extra) {
    return "{\"input\": " + text.apply(i) + ", \"exit\": \"" + exit + "\"" + extra + "}";
  }

  /** POST {@code path} with a JSON body per request ({@code /v1/embeddings} or the native {@code /v1/embed}). */
  static Transport http(String base, String path, IntFunction<String> text, String exit, String extra) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    URI uri = URI.create(base + path);
    return i -> client.sendAsync(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body(text, i, exit, extra))).build(),
        HttpResponse.BodyHandlers.ofByteArray()).thenApply(r -> {
          if (r.statusCode() != 200) {
            throw new IllegalStateException(path + " answered " + r.statusCode());
          }
          return r;
        });
  }

  /**
   * {@code GET /v1/stream}: frames with ids spread over {@code connections} WebSockets; each result
   * frame completes its id.
   */
  static Transport webSocket(String base, IntFunction<String> text, String exit, int connections) {
    Map<String, CompletableFuture<Void>> open = new ConcurrentHashMap<>();
    HttpClient client = HttpClient.newHttpClient();
    List<WebSocket> sockets = new ArrayList<>();
    for (int c = 0; c < connections; c++) {
      sockets.add(client.newWebSocketBuilder().buildAsync(URI.create(base.replace("http", "ws") + "/v1/stream"),
          new WebSocket.Listener() {
            private final StringBuilder frame = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
              frame.append(data);
              if (last) {
                try {
                  JsonNode json = Harness.JSON.readTree(frame.toString());
                  CompletableFuture<Void> f = open.remove(json.path("id").asText());
                  if (f != null) {
                    if (json.has("error")) {
                      f.completeExceptionally(new IllegalStateException(json.path("error").toString()));
                    } else {
                      f.complete(null);
                    }
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
                frame.setLength(0);
              }
              ws.request(1);
              return null;
            }
          }).join());
    }
    return new Transport() {
      @Override
      public CompletionStage<?> send(int i) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        open.put("w" + i, f);
        WebSocket ws = sockets.get(i % sockets.size());
        String frame = "{\"id\": \"w" + i + "\", \"input\": " + text.apply(i) + ", \"exit\": \"" + exit + "\"}";
        synchronized (ws) { // one send at a time per socket
          ws.sendText(frame, true).join();
        }
        return f;
      }

      @Override
      public void close() {
        sockets.forEach(ws -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "done"));
      }
    };
  }

  /**
   * {@code POST /v1/bulk}, as a bulk client sends: the requests that arrive within each
   * {@code every} go as one NDJSON upload, and complete when its response has come in whole.
   */
  static Transport bulk(String base, IntFunction<String> text, String exit, Duration every) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    URI uri = URI.create(base + "/v1/bulk?exit=" + exit);
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    Object lock = new Object();
    StringBuilder[] lines = {new StringBuilder()};
    List<CompletableFuture<Void>>[] waiting = new List[] {new ArrayList<>()};
    ticker.scheduleAtFixedRate(() -> {
      String body;
      List<CompletableFuture<Void>> these;
      synchronized (lock) {
        if (waiting[0].isEmpty()) {
          return;
        }
        body = lines[0].toString();
        these = waiting[0];
        lines[0] = new StringBuilder();
        waiting[0] = new ArrayList<>();
      }
      client.sendAsync(HttpRequest.newBuilder(uri).header("Content-Type", "application/x-ndjson")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString())
          .whenComplete((r, e) -> {
            long answered = e == null ? r.body().lines().filter(l -> l.contains("\"embedding\"")).count() : 0;
            for (int k = 0; k < these.size(); k++) {
              if (k < answered) {
                these.get(k).complete(null);
              } else {
                these.get(k).completeExceptionally(new IllegalStateException("bulk line not answered"));
              }
            }
          });
    }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    return new Transport() {
      @Override
      public CompletionStage<?> send(int i) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (lock) {
          lines[0].append("{\"id\": ").append(i).append(", \"input\": ").append(text.apply(i)).append("}\n");
          waiting[0].add(f);
        }
        return f;
      }

      @Override
      public void close() {
        ticker.shutdownNow();
      }
    };
  }

  /**
   * Records on the requests topic, results read from the results topic (every partition, from its
   * end when this starts); each result completes its request's id.
   */
  static Transport kafka(String bootstrapServers, String requests, String results, IntFunction<String> text,
      String exit) {
    Map<String, CompletableFuture<Void>> open = new ConcurrentHashMap<>();
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers);
    p.put("linger.ms", "5");
    KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    AtomicBoolean stop = new AtomicBoolean();
    CompletableFuture<Void> assigned = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      Properties c = new Properties();
      c.put("bootstrap.servers", bootstrapServers);
      try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
          new ByteArrayDeserializer())) {
        List<TopicPartition> parts = consumer.partitionsFor(results, Duration.ofSeconds(30)).stream()
            .map(info -> new TopicPartition(results, info.partition())).toList();
        consumer.assign(parts);
        consumer.seekToEnd(parts);
        parts.forEach(consumer::position);
        assigned.complete(null);
        while (!stop.get()) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
            try {
              CompletableFuture<Void> f = open.remove(resultId(r.value()));
              if (f != null) {
                f.complete(null);
              }
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
        }
      }
    }, "overhead-kafka-results");
    reader.start();
    assigned.orTimeout(60, TimeUnit.SECONDS).join();
    return new Transport() {
      @Override
      public CompletionStage<?> send(int i) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        open.put("k" + i, f);
        byte[] value = ("{\"id\": \"k" + i + "\", \"input\": " + text.apply(i) + ", \"exit\": \"" + exit + "\"}")
            .getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>(requests, ("k" + (i % 64)).getBytes(StandardCharsets.UTF_8), value));
        return f;
      }

      @Override
      public void close() throws InterruptedException {
        producer.close();
        stop.set(true);
        reader.join();
      }
    };
  }

  /**
   * A Kafka result's {@code "id"}, read with a streaming parser that stops there: the id comes
   * first, so the generator does not parse the floats after it into a tree for every result.
   */
  static String resultId(byte[] value) throws IOException {
    try (JsonParser p = Harness.JSON.getFactory().createParser(value)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        String name = p.getCurrentName();
        p.nextToken();
        if (name.equals("id")) {
          return p.getValueAsString();
        }
        p.skipChildren();
      }
      return null;
    }
  }
}
