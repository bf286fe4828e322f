package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.StageStats;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * What the console ({@code GET /}) shows, as Server-Sent Events: every {@code interval} a sample
 * of rates and levels computed from two readings of the registry {@code /metrics} exports (plus
 * the runtime's stats and {@code /health}'s components), so that the page and Prometheus never
 * disagree. The last {@code history} samples are kept and sent first to a new page, which then
 * shows the last minutes at once; sampling runs from the server's start whether a page is open or
 * not (one stats ask and one registry scrape per interval).
 */
final class ConsoleFeed {
  /** Routes whose latency the console charts: the inference calls (bulk's is a whole upload's). */
  private static final Set<String> LATENCY_ROUTES = Set.of("embeddings", "embed");
  /** HTTP routes whose every request is one call; WebSocket frames and bulk lines count apart. */
  private static final List<String> TRANSPORTS = List.of("embeddings", "embed");

  private final Supplier<CompletionStage<MetricReading>> read;
  private final Supplier<ObjectNode> health;
  private final ObjectNode about;
  private final Duration interval;
  private final int history;
  private final int latencyWindow;
  private final Deque<ObjectNode> samples = new ArrayDeque<>();
  private final Deque<MetricReading> readings = new ArrayDeque<>();
  private long seq;

  /** {@code about}: what the page needs to lay out its charts (model, exit layers), sent with the history. */
  ConsoleFeed(Supplier<CompletionStage<MetricReading>> read, Supplier<ObjectNode> health, ObjectNode about,
      Duration interval, Duration history, Duration latencyWindow) {
    this.read = read;
    this.health = health;
    this.about = about.put("interval_ms", interval.toMillis()).put("history", (int) Math.max(1,
        history.toMillis() / interval.toMillis()));
    this.interval = interval;
    this.history = (int) Math.max(1, history.toMillis() / interval.toMillis());
    this.latencyWindow = (int) Math.max(1, latencyWindow.toMillis() / interval.toMillis());
  }

  /** Starts sampling; it ends with the materializer (the actor system). */
  ConsoleFeed start(Materializer mat) {
    Source.tick(Duration.ZERO, interval, NotUsed.getInstance())
        .mapAsync(1, t -> read.get().handle((r, e) -> e == null ? r : null))
        .filter(r -> r != null) // a stats ask that timed out under load: skip that tick, never stop
        .runForeach(this::add, mat);
    return this;
  }

  private synchronized void add(MetricReading now) {
    MetricReading previous = readings.peekLast();
    readings.addLast(now);
    while (readings.size() > latencyWindow + 1) {
      readings.removeFirst();
    }
    if (previous == null) {
      return; // rates need two readings
    }
    samples.addLast(sample(++seq, previous, now, readings.peekFirst()));
    while (samples.size() > history) {
      samples.removeFirst();
    }
  }

  /** Samples after {@code after} (by sequence number), oldest first. */
  synchronized List<ObjectNode> since(long after) {
    List<ObjectNode> out = new ArrayList<>();
    for (ObjectNode s : samples) {
      if (s.get("seq").asLong() > after) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * The event stream of one page: a {@code history} event with {@code about} and the samples kept, then a {@code
   * sample} event per new sample. It ends when {@code draining} turns true, so that an open page
   * never holds up a shutdown; the page's EventSource reconnects to the next server.
   */
  Source<ByteString, NotUsed> events(BooleanSupplier draining) {
    long[] last = {0};
    List<ObjectNode> kept = since(0);
    ObjectNode first = about.deepCopy();
    kept.forEach(first.putArray("samples")::add);
    if (!kept.isEmpty()) {
      last[0] = kept.get(kept.size() - 1).get("seq").asLong();
    }
    Duration poll = interval.dividedBy(4);
    return Source.single(event("history", first))
        .concat(Source.tick(poll, poll, NotUsed.getInstance())
            .takeWhile(t -> !draining.getAsBoolean())
            .mapConcat(t -> {
              List<ObjectNode> fresh = since(last[0]);
              if (!fresh.isEmpty()) {
                last[0] = fresh.get(fresh.size() - 1).get("seq").asLong();
              }
              return fresh.stream().map(s -> event("sample", s)).toList();
            }))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  private static ByteString event(String name, JsonNode data) {
    return ByteString.fromString("event: " + name + "\ndata: " + data.toString() + "\n\n");
  }

  /** One sample: per-second rates between {@code before} and {@code now}; latency over the window since {@code window}. */
  private ObjectNode sample(long seq, MetricReading before, MetricReading now, MetricReading window) {
    double seconds = Math.max(1e-3, (now.nanos - before.nanos) / 1e9);
    ObjectNode s = HttpJson.object().put("seq", seq).put("t", now.epochMillis).put("seconds", seconds);
    JsonNode components = health.get();
    s.put("status", components.path("status").asText());
    s.put("http_in_flight", components.at("/components/http/in_flight").asInt());

    ObjectNode rps = s.putObject("rps");
    for (String route : TRANSPORTS) {
      rps.put(route, rate(now, before, "exitflow_http_requests", Map.of("route", route), seconds));
    }
    rps.put("stream", rate(now, before, "exitflow_stream_requests", Map.of("route", "stream"), seconds));
    rps.put("bulk", rate(now, before, "exitflow_stream_requests", Map.of("route", "bulk"), seconds));
    rps.put("kafka", rate(now, before, "exitflow_kafka_records_consumed", Map.of(), seconds));
    double batchLines = 0;
    for (MetricReading.Series b : now.series("exitflow_batch_lines_per_second")) {
      batchLines += b.value();
    }
    rps.put("batch", batchLines);

    MetricReading.Histogram latency = now.histogram("exitflow_http_request_duration_seconds",
            l -> LATENCY_ROUTES.contains(l.get("route")))
        .minus(window.histogram("exitflow_http_request_duration_seconds", l -> LATENCY_ROUTES.contains(l.get("route"))));
    ObjectNode lat = s.putObject("latency_ms");
    putNumber(lat, "p50", latency.quantile(0.5) * 1000);
    putNumber(lat, "p99", latency.quantile(0.99) * 1000);
    lat.put("window_s", (now.nanos - window.nanos) / 1e9);

    ObjectNode exits = s.putObject("exits");
    Map<String, Double> exitsNow = now.byLabel("exitflow_exits", "layer");
    Map<String, Double> exitsBefore = before.byLabel("exitflow_exits", "layer");
    exitsNow.forEach((layer, v) -> exits.put(layer, (v - exitsBefore.getOrDefault(layer, 0.0)) / seconds));
    s.put("depth_level", now.stats.degradationLevel());
    s.put("deadline_share", now.stats.deadlineShare());

    ArrayNode stages = s.putArray("stages");
    for (StageStats st : now.stats.stages()) {
      String stage = String.valueOf(st.stage() + 1);
      ObjectNode o = stages.addObject().put("stage", st.stage() + 1)
          .put("queue", st.queueDepth()).put("rate", st.serviceRatePerS());
      MetricReading.Histogram size = now.histogram("exitflow_batch_size", l -> stage.equals(l.get("stage")))
          .minus(before.histogram("exitflow_batch_size", l -> stage.equals(l.get("stage"))));
      MetricReading.Histogram padded = now.histogram("exitflow_batch_padded_tokens", l -> stage.equals(l.get("stage")))
          .minus(before.histogram("exitflow_batch_padded_tokens", l -> stage.equals(l.get("stage"))));
      o.put("batches_per_s", size.count() / seconds);
      putNumber(o, "batch_size", size.count() == 0 ? Double.NaN : size.sum() / size.count());
      putNumber(o, "padded_tokens", padded.count() == 0 ? Double.NaN : padded.sum() / padded.count());
    }

    s.putObject("rejected")
        .put("requests", rate(now, before, "exitflow_rejected_requests", Map.of(), seconds))
        .put("inputs", rate(now, before, "exitflow_rejected_inputs", Map.of(), seconds));
    s.put("errors_per_s", rate(now, before, "exitflow_http_errors", Map.of(), seconds));
    s.put("failed_per_s", rate(now, before, "exitflow_failed", Map.of(), seconds));

    JsonNode k = components.at("/components/kafka");
    ObjectNode kafka = s.putObject("kafka").put("state", k.path("state").asText("off"))
        .put("consumed", rate(now, before, "exitflow_kafka_records_consumed", Map.of(), seconds))
        .put("produced", rate(now, before, "exitflow_kafka_results_produced", Map.of(), seconds))
        .put("dead_letters", rate(now, before, "exitflow_kafka_dead_letters_produced", Map.of(), seconds));
    List<MetricReading.Series> lag = now.series("exitflow_kafka_commit_lag");
    if (lag.isEmpty()) {
      kafka.putNull("lag");
    } else {
      kafka.put("lag", lag.get(0).value());
    }
    if (k.has("last_error")) {
      kafka.set("last_error", k.get("last_error"));
    }

    ArrayNode batches = s.putArray("batches");
    Map<String, Double> total = now.byLabel("exitflow_batch_lines_total", "batch");
    Map<String, Double> perSecond = now.byLabel("exitflow_batch_lines_per_second", "batch");
    now.byLabel("exitflow_batch_lines_done", "batch").forEach((id, done) -> batches.addObject().put("id", id)
        .put("done", done.longValue()).put("total", total.getOrDefault(id, 0.0).longValue())
        .put("lines_per_s", perSecond.getOrDefault(id, 0.0)));

    s.put("workers", now.stats.workers()).put("in_flight", now.stats.inFlight());
    ObjectNode nodes = s.putObject("batches_per_s_by_node");
    now.stats.batchesByNode().forEach((node, n) ->
        nodes.put(node, (n - before.stats.batchesByNode().getOrDefault(node, 0L)) / seconds));
    return s;
  }

  private static double rate(MetricReading now, MetricReading before, String name, Map<String, String> match,
      double seconds) {
    java.util.function.Predicate<Map<String, String>> filter = l -> match.entrySet().stream()
        .allMatch(e -> e.getValue().equals(l.get(e.getKey())));
    // A counter that went down was reset (a restarted pipeline's stats): count from zero.
    double delta = now.sum(name, filter) - before.sum(name, filter);
    return (delta < 0 ? now.sum(name, filter) : delta) / seconds;
  }

  private static void putNumber(ObjectNode o, String field, double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      o.putNull(field);
    } else {
      o.put(field, v);
    }
  }
}
