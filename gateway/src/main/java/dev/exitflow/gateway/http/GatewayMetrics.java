package dev.exitflow.gateway.http;

import dev.exitflow.actors.ExitReason;
import dev.exitflow.actors.Priority;
import dev.exitflow.actors.RuntimeListener;
import dev.exitflow.actors.RuntimeStats;
import dev.exitflow.actors.StageStats;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Exitflow's Prometheus metrics: HTTP requests and latency per route and status, and what the
 * runtime does (it is the runtime's {@link RuntimeListener}): batch sizes and padded tokens per
 * stage, the exit mix, rejections; queue depths and the depth controller's level are read from the
 * runtime's stats at each scrape.
 */
public final class GatewayMetrics implements RuntimeListener {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  private final Counter requests = Counter.builder().name("exitflow_http_requests")
      .help("HTTP requests by route and status").labelNames("route", "status").register(registry);
  private final Histogram latency = Histogram.builder().name("exitflow_http_request_duration_seconds")
      .help("HTTP request latency by route and status").labelNames("route", "status").classicOnly()
      .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10).register(registry);
  private final Histogram batchSize = Histogram.builder().name("exitflow_batch_size")
      .help("Inputs (texts) per batch, by stage").labelNames("stage").classicOnly()
      .classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128).register(registry);
  private final Histogram paddedTokens = Histogram.builder().name("exitflow_batch_padded_tokens")
      .help("Padded tokens per batch (size x longest), by stage").labelNames("stage").classicOnly()
      .classicExponentialUpperBounds(16, 2, 10).register(registry);
  private final Histogram batchSeconds = Histogram.builder().name("exitflow_batch_compute_seconds")
      .help("Compute time per batch, by stage").labelNames("stage").classicOnly()
      .classicExponentialUpperBounds(0.001, 2, 12).register(registry);
  private final Counter exits = Counter.builder().name("exitflow_exits")
      .help("Completed inputs (texts) by exit layer, reason and priority").labelNames("layer", "reason", "priority")
      .register(registry);
  /** The exit series by layer, reason and priority (see onExit). */
  private final Map<Integer, CounterDataPoint> exitSeries = new ConcurrentHashMap<>();
  private final Counter errors = Counter.builder().name("exitflow_http_errors")
      .help("HTTP error responses (4xx and 5xx) by route, status and error code").labelNames("route", "status", "code")
      .register(registry);
  private final Counter streamRequests = Counter.builder().name("exitflow_stream_requests")
      .help("Requests inside a 200 stream: WebSocket frames received and bulk lines answered, by route")
      .labelNames("route").register(registry);
  private final Counter streamErrors = Counter.builder().name("exitflow_stream_errors")
      .help("Requests refused inside a 200 stream: WebSocket error frames and bulk error lines, by route and code")
      .labelNames("route", "code").register(registry);
  // A request is admitted or refused whole, with all its inputs: one series counts each.
  private final Counter rejectedRequests = Counter.builder().name("exitflow_rejected_requests")
      .help("Requests refused as overloaded (each refused whole, with all its inputs)").register(registry);
  private final Counter rejectedInputs = Counter.builder().name("exitflow_rejected_inputs")
      .help("Inputs (texts) of the requests refused as overloaded").register(registry);
  private final Counter failed = Counter.builder().name("exitflow_failed")
      .help("Inputs (texts) that failed after admission: inference errors, lost workers, shutdown").register(registry);
  private final Gauge queueDepth = Gauge.builder().name("exitflow_stage_queue_depth")
      .help("Inputs (texts) queued at a stage").labelNames("stage").register(registry);
  private final Gauge serviceRate = Gauge.builder().name("exitflow_stage_service_rate")
      .help("Measured inputs (texts) per second a stage serves").labelNames("stage").register(registry);
  private final Gauge depthLevel = Gauge.builder().name("exitflow_depth_controller_level")
      .help("Degradation level of auto traffic: 0 = full depth; bulk loses exits first").register(registry);
  private final Gauge deadlineShare = Gauge.builder().name("exitflow_admission_deadline_share")
      .help("Share of its deadline an auto request's predicted completion may take before it is refused; "
          + "falls when admitted requests finish late").register(registry);
  private final Gauge workers = Gauge.builder().name("exitflow_workers")
      .help("Stage workers serving this gateway (in a cluster: on every worker node)").register(registry);
  private final Gauge inFlight = Gauge.builder().name("exitflow_in_flight")
      .help("Inputs (texts) admitted and not yet answered").register(registry);

  /** Adds the Kafka pipeline's counters and state, read from {@code status} at each scrape. */
  public void watchKafka(java.util.function.Supplier<java.util.Optional<dev.exitflow.streams.kafka.KafkaService.Status>> status) {
    KafkaMetrics.register(registry, status);
  }

  /** Adds each running batch's lines done and lines per second, read from {@code progress} at each scrape. */
  public void watchBatches(java.util.function.Supplier<java.util.List<dev.exitflow.gateway.batch.BatchRunner.Progress>> progress) {
    io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("exitflow_batch_lines_done")
        .help("Lines of a running batch done so far (completed and failed)").labelNames("batch")
        .callback(cb -> progress.get().forEach(p -> cb.call(p.done(), p.id()))).register(registry);
    io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("exitflow_batch_lines_total")
        .help("Requests in a running batch's input file").labelNames("batch")
        .callback(cb -> progress.get().forEach(p -> cb.call(p.total(), p.id()))).register(registry);
    io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("exitflow_batch_lines_per_second")
        .help("Lines per second of a running batch since it (re)started").labelNames("batch")
        .callback(cb -> progress.get().forEach(p -> cb.call(p.linesPerSecond(), p.id()))).register(registry);
  }

  public void recordRequest(String route, int status, long nanos) {
    String s = String.valueOf(status);
    requests.labelValues(route, s).inc();
    latency.labelValues(route, s).observe(nanos / 1e9);
  }

  @Override
  public void onBatch(int stage, int size, int padded, long computeNanos) {
    String s = String.valueOf(stage + 1);
    batchSize.labelValues(s).observe(size);
    paddedTokens.labelValues(s).observe(padded);
    batchSeconds.labelValues(s).observe(computeNanos / 1e9);
  }

  @Override
  public void onExit(int exitLayer, ExitReason reason, Priority priority) {
    // Called for every result: the few series are looked up by label strings once, then reused.
    int key = exitLayer * 64 + reason.ordinal() * 8 + priority.ordinal();
    exitSeries.computeIfAbsent(key, k -> exits.labelValues(String.valueOf(exitLayer),
        reason.name().toLowerCase(Locale.ROOT), priority.name().toLowerCase(Locale.ROOT))).inc();
  }

  public void recordError(String route, int status, String code) {
    errors.labelValues(route, String.valueOf(status), code).inc();
  }

  public void recordStreamRequest(String route) {
    streamRequests.labelValues(route).inc();
  }

  public void recordStreamError(String route, String code) {
    streamErrors.labelValues(route, code).inc();
  }

  @Override
  public void onRejected(int inputs) {
    rejectedRequests.inc();
    rejectedInputs.inc(inputs);
  }

  @Override
  public void onFailed() {
    failed.inc();
  }

  /**
   * Every series now, with the runtime's current queues and controller level: what {@code /metrics}
   * writes out and what the console ({@link ConsoleFeed}) turns into rates.
   */
  public MetricSnapshots snapshot(RuntimeStats stats) {
    for (StageStats s : stats.stages()) {
      queueDepth.labelValues(String.valueOf(s.stage() + 1)).set(s.queueDepth());
      serviceRate.labelValues(String.valueOf(s.stage() + 1)).set(s.serviceRatePerS());
    }
    depthLevel.set(stats.degradationLevel());
    deadlineShare.set(stats.deadlineShare());
    inFlight.set(stats.inFlight());
    workers.set(stats.workers());
    return registry.scrape();
  }

  /** The text exposition of {@link #snapshot}. */
  public String scrape(RuntimeStats stats) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, snapshot(stats));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  public String contentType() {
    return writer.getContentType();
  }
}
