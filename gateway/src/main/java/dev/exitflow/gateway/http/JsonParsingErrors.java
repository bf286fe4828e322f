package dev.exitflow.gateway.http;

import dev.exitflow.streams.request.ErrorCode;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Answers requests too malformed to reach the routes (a request line or headers over Pekko's
 * limits, bad syntax) in OpenAI's JSON error shape instead of Pekko's plain text. Named by
 * {@code pekko.http.server.parsing.error-handler} in this module's reference.conf.
 */
public final class JsonParsingErrors extends ParsingErrorHandler {
  /**
   * Pekko creates this handler by reflection, so it cannot be handed the gateway's metrics: they
   * register here (one server per process; tests with several servers count on each).
   */
  private static final Set<GatewayMetrics> METRICS = ConcurrentHashMap.newKeySet();

  static void reportTo(GatewayMetrics metrics) {
    METRICS.add(metrics);
  }

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    ErrorCode code = switch (status.intValue()) {
      case 413 -> ErrorCode.REQUEST_TOO_LARGE;
      case 414 -> ErrorCode.URI_TOO_LONG;
      case 431 -> ErrorCode.HEADERS_TOO_LARGE;
      default -> ErrorCode.BAD_REQUEST;
    };
    log.debug("unreadable HTTP request: {} {}", status, info.formatPretty());
    for (GatewayMetrics m : METRICS) {
      m.recordRequest("unparsed", status.intValue(), 0);
      m.recordError("unparsed", status.intValue(), code.code());
    }
    return HttpJson.error(ApiError.of(code, info.summary())).withStatus(status.intValue());
  }
}
