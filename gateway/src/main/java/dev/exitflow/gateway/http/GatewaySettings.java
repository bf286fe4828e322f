package dev.exitflow.gateway.http;

import com.typesafe.config.Config;
import dev.exitflow.streams.request.RequestLimits;
import java.time.Duration;

/**
 * The {@code exitflow.gateway} section of the configuration (defaults in this module's reference.conf),
 * with the request limits every transport shares ({@code exitflow.requests}). Creating it refuses a
 * configuration in which the largest legal request could never be admitted.
 */
public record GatewaySettings(
    String host,
    int port,
    int backlog,
    String apiKey,
    long maxBodyBytes,
    Duration bodyReadTimeout,
    RequestLimits requests,
    int maxBulkLineBytes,
    int websocketParallelism,
    int bulkParallelism,
    BulkBuffer bulkBuffer,
    Duration shutdownDeadline,
    boolean kafka,
    Console console) {

  /** Where a bulk response's results wait for a client that does not read yet ({@code bulk-buffer}). */
  public record BulkBuffer(long memoryBytes, long maxSpillBytes, java.nio.file.Path dir) {}

  /** The console's feed ({@code console}): how often it samples, how much it keeps, the latency window. */
  public record Console(Duration interval, Duration history, Duration latencyWindow) {}

  public static GatewaySettings create(Config root) {
    Config c = root.getConfig("exitflow.gateway");
    return new GatewaySettings(
        c.getString("host"),
        c.getInt("port"),
        c.getInt("backlog"),
        c.getString("api-key"),
        c.getBytes("limits.max-body-bytes"),
        c.getDuration("limits.body-read-timeout"),
        RequestLimits.create(root),
        c.getBytes("limits.max-bulk-line-bytes").intValue(),
        c.getInt("websocket-parallelism"),
        c.getInt("bulk-parallelism"),
        new BulkBuffer(c.getBytes("bulk-buffer.memory"), c.getBytes("bulk-buffer.max-spill"),
            java.nio.file.Path.of(c.getString("bulk-buffer.dir"))),
        c.getDuration("shutdown-deadline"),
        c.getBoolean("kafka"),
        new Console(c.getDuration("console.interval"), c.getDuration("console.history"),
            c.getDuration("console.latency-window")));
  }

  public GatewaySettings withPort(int p) {
    return new GatewaySettings(host, p, backlog, apiKey, maxBodyBytes, bodyReadTimeout, requests, maxBulkLineBytes,
        websocketParallelism, bulkParallelism, bulkBuffer, shutdownDeadline, kafka, console);
  }

  public GatewaySettings withHost(String h) {
    return new GatewaySettings(h, port, backlog, apiKey, maxBodyBytes, bodyReadTimeout, requests, maxBulkLineBytes,
        websocketParallelism, bulkParallelism, bulkBuffer, shutdownDeadline, kafka, console);
  }
}
