package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitQuality;
import dev.exitflow.actors.ShuttingDown;
import dev.exitflow.model.Failures;
import dev.exitflow.streams.request.ErrorCode;
import dev.exitflow.streams.request.InvalidRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.Allow;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;

/**
 * Every HTTP route of the gateway. JSON errors everywhere in OpenAI's shape (see {@link ApiError}),
 * including unknown routes, rejections and oversized bodies; every response is counted and timed
 * per route and status.
 */
public final class ExitflowRoutes extends AllDirectives {
  static final ContentType NDJSON =
      ContentTypes.create(MediaTypes.customWithFixedCharset("application", "x-ndjson", HttpCharsets.UTF_8,
          Map.of(), false, new String[] {"ndjson"}));
  private static final Map<String, String> ROUTE_LABELS = Map.ofEntries(
      Map.entry("/v1/embeddings", "embeddings"), Map.entry("/v1/embed", "embed"), Map.entry("/v1/stream", "stream"),
      Map.entry("/v1/bulk", "bulk"), Map.entry("/v1/models", "models"), Map.entry("/health/live", "live"),
      Map.entry("/health/ready", "ready"), Map.entry("/metrics", "metrics"), Map.entry("/", "console"),
      Map.entry("/console/events", "console_events"), Map.entry("/openapi.json", "openapi"));

  private final EncoderRuntime runtime;
  private final GatewaySettings settings;
  private final GatewayMetrics metrics;
  private final Materializer mat;
  private final RequestDecoder decoder;
  private final EmbeddingApi embeddings;
  private final StreamApi stream;
  private final HttpDrain drain;
  private final Health health;
  private final long created = Instant.now().getEpochSecond();

  private final BatchApi batch;
  private final ConsoleRoutes console;

  /** {@code batches} may be null: no Files and Batch API. */
  public ExitflowRoutes(EncoderRuntime runtime, GatewaySettings settings, GatewayMetrics metrics, Materializer mat,
      HttpDrain drain, Health health, Batches batches) {
    this.runtime = runtime;
    this.settings = settings;
    this.metrics = metrics;
    this.mat = mat;
    this.decoder = RequestDecoder.forRuntime(runtime, settings.requests());
    this.embeddings = new EmbeddingApi(runtime, decoder);
    this.stream = new StreamApi(runtime, decoder, settings, mat, code -> metrics.recordStreamError("stream", code));
    JsonParsingErrors.reportTo(metrics);
    this.drain = drain;
    this.health = health;
    this.batch = batches == null ? null : new BatchApi(batches.files(), batches.runner(), batches.maxFileBytes(), mat);
    GatewaySettings.Console c = settings.console();
    ConsoleFeed feed = new ConsoleFeed(
        () -> runtime.stats().thenApply(stats -> new MetricReading(metrics.snapshot(stats), stats)),
        health::components, consoleAbout(), c.interval(), c.history(), c.latencyWindow()).start(mat);
    this.console = new ConsoleRoutes(feed, drain::draining);
  }

  /**
   * Health, metrics and the console answer while draining (readiness says so; the console's event
   * stream ends); everything else goes through the drain's gate.
   */
  public Route routes() {
    return timed(() -> handleExceptions(exceptions(), () -> handleRejections(rejections(), () -> concat(
        path("metrics", () -> get(this::metricsRoute)),
        path("health", () -> get(() -> complete(HttpJson.ok(health.components())))),
        pathPrefix("health", () -> concat(
            path("live", () -> get(() -> complete(HttpJson.ok(Map.of("status", "live"))))),
            path("ready", () -> get(() -> health.ready()
                ? complete(HttpJson.ok(Map.of("status", "ready", "model", runtime.model().name())))
                : complete(HttpJson.error(drain.draining() ? ApiError.of(new ShuttingDown()) : ApiError.notReady())))))),
        console.routes(),
        drain.gate(this::api)))));
  }

  private Route api() {
    return concat(
        pathPrefix("v1", () -> authenticated(() -> concat(
            path("models", () -> get(() -> complete(HttpJson.ok(models())))),
            path(PathMatchers.segment("models").slash(PathMatchers.segment()), id -> get(() -> complete(model(id)))),
            batch == null ? reject() : batch.routes(),
            whenReady(() -> concat(
                path("embeddings", () -> post(() -> jsonBody(embeddings::openAi))),
                path("embed", () -> post(() -> jsonBody(embeddings::nativeEmbed))),
                path("stream", () -> handleWebSocketMessages(drain.websocket(countedFrames().via(stream.flow()),
                    StreamApi::goodbye))),
                path("bulk", () -> post(this::bulkRoute))))))));
  }

  /** Counts each WebSocket frame received: a request, whatever becomes of it. */
  private org.apache.pekko.stream.javadsl.Flow<org.apache.pekko.http.javadsl.model.ws.Message,
      org.apache.pekko.http.javadsl.model.ws.Message, org.apache.pekko.NotUsed> countedFrames() {
    return org.apache.pekko.stream.javadsl.Flow.<org.apache.pekko.http.javadsl.model.ws.Message>create().map(m -> {
      metrics.recordStreamRequest("stream");
      return m;
    });
  }

  /**
   * Reads the whole body, at most {@code max-body-bytes} and within {@code body-read-timeout}
   * (a body shorter than its Content-Length gets 400 incomplete_body then), and hands its bytes on.
   */
  private Route jsonBody(Function<byte[], CompletionStage<HttpResponse>> handler) {
    return extractRequestEntity(entity -> {
      // A body that arrived whole (most requests) is read without running a stream for it.
      if (entity instanceof HttpEntity.Strict s && s.getData().size() <= settings.maxBodyBytes()) {
        return completeWithFuture(handler.apply(s.getData().toArray())
            .exceptionally(e -> HttpJson.error(bodyError(e))));
      }
      // toStrict's stage is Scala's, which runs even thenCompose on the common pool: a new thread
      // per request where that pool has one thread (two cores). On the dispatcher instead.
      return completeWithFuture(entity.toStrict(settings.bodyReadTimeout().toMillis(), settings.maxBodyBytes(), mat)
          .thenComposeAsync(strict -> handler.apply(strict.getData().toArray()), mat.executionContext())
          .exceptionally(e -> HttpJson.error(bodyError(e))));
    });
  }

  private ApiError bodyError(Throwable t) {
    Throwable e = Failures.unwrap(t);
    // A known Content-Length over the limit fails toStrict at once with "Request too large".
    if (e instanceof EntityStreamSizeException
        || e instanceof EntityStreamException x && x.info().summary().startsWith("Request too large")) {
      return ApiError.of(ErrorCode.REQUEST_TOO_LARGE, "the body exceeds " + settings.maxBodyBytes()
          + " bytes (exitflow.gateway.limits.max-body-bytes)");
    }
    if (e instanceof TimeoutException) {
      return ApiError.of(ErrorCode.INCOMPLETE_BODY, "the body did not arrive in full within "
          + settings.bodyReadTimeout().toMillis() + " ms: fewer bytes than its Content-Length?");
    }
    return ApiError.of(e);
  }

  /** Bulk: the query's options become the lines' defaults, checked before the body is read. */
  private Route bulkRoute() {
    return parameterMap(params -> {
      RequestDefaults defaults;
      try {
        defaults = decoder.query(params, RequestDefaults.BULK);
      } catch (InvalidRequest e) {
        return complete(HttpJson.error(ApiError.of(e)));
      }
      return withoutSizeLimit(() -> extractDataBytes(bytes ->
          complete(HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON,
              bytes.via(BulkApi.flow(runtime, decoder, defaults, settings.bulkParallelism(),
                  settings.maxBulkLineBytes(), 1, code -> metrics.recordStreamError("bulk", code)))
                  .map(line -> {
                    metrics.recordStreamRequest("bulk"); // one result line per request line
                    return line;
                  })
                  .via(SpillBuffer.flow(settings.bulkBuffer().memoryBytes(), settings.bulkBuffer().maxSpillBytes(),
                      settings.bulkBuffer().dir()))
                  .via(drain.bulk(BulkApi::stoppingLine)))))));
    });
  }

  private Route metricsRoute() {
    return completeWithFuture(runtime.stats().thenApply(stats -> HttpResponse.create().withEntity(
        ContentTypes.parse(metrics.contentType()), ByteString.fromString(metrics.scrape(stats)))));
  }

  private ObjectNode consoleAbout() {
    ObjectNode about = HttpJson.object().put("model", runtime.model().name());
    runtime.exitLayers().forEach(about.putArray("exit_layers")::add);
    return about;
  }

  private ObjectNode models() {
    ObjectNode out = HttpJson.object().put("object", "list");
    out.putArray("data").add(modelObject());
    return out;
  }

  /** {@code GET /v1/models/{id}}: the model, or OpenAI's 404 for a model not served here. */
  private HttpResponse model(String id) {
    if (!id.equals(runtime.model().name())) {
      return HttpJson.error(new ApiError(ErrorCode.MODEL_NOT_FOUND, "The model '" + id + "' does not exist; this server "
          + "serves '" + runtime.model().name() + "'", "model", null));
    }
    return HttpJson.ok(modelObject());
  }

  private ObjectNode modelObject() {
    ObjectNode m = HttpJson.object()
        .put("id", runtime.model().name())
        .put("object", "model")
        .put("created", created)
        .put("owned_by", "exitflow");
    runtime.exitLayers().forEach(m.putArray("exit_layers")::add);
    // What each exit is worth: its adapter or branch, fidelity to the deep exit, and eval's Spearman x100.
    ArrayNode exits = m.putArray("exits");
    for (ExitQuality q : runtime.exits()) {
      describe(exits.addObject(), q);
    }
    // Not an exit a request may name: auto requests leave there only when their deadline demands it.
    if (runtime.reserveExit() != null) {
      describe(m.putObject("reserve_exit"), runtime.reserveExit());
    }
    return m;
  }

  private static void describe(ObjectNode e, ExitQuality q) {
    e.put("layer", q.layer()).put("deep", q.deep());
    if (q.adapter() == null) {
      e.putNull("adapter");
    } else {
      e.putObject("adapter").put("kind", q.adapter().kind()).put("features", q.adapter().features())
          .put("penalty", q.adapter().penalty()).put("corpus_sentences", q.adapter().corpusSentences());
    }
    e.put("branch", q.branch()); // a distilled exit branch (exitflow distill) replaces the adapter
    e.put("fidelity", Double.isNaN(q.fidelity()) ? null : q.fidelity());
    ObjectNode spearman = e.putObject("spearman");
    q.spearman().forEach(spearman::put);
  }

  private Route authenticated(Supplier<Route> inner) {
    if (settings.apiKey().isEmpty()) {
      return inner.get();
    }
    return optionalHeaderValueByName("Authorization", header ->
        header.filter(h -> h.equals("Bearer " + settings.apiKey())).isPresent()
            ? inner.get()
            : complete(HttpJson.error(ApiError.unauthorized())));
  }

  private Route whenReady(Supplier<Route> inner) {
    return runtime.isReady() ? inner.get() : complete(HttpJson.error(ApiError.notReady()));
  }

  /** Counts and times every response by route and status, and every error by route, status and code. */
  private Route timed(Supplier<Route> inner) {
    return extractUri(uri -> {
      long start = System.nanoTime();
      String label = ROUTE_LABELS.getOrDefault(uri.path(), uri.path().startsWith("/v1/models/") ? "model"
          : uri.path().startsWith("/console/") ? "console" : "other");
      return mapResponse(r -> {
        int status = r.status().intValue();
        metrics.recordRequest(label, status, System.nanoTime() - start);
        if (status >= 400) {
          metrics.recordError(label, status, errorCode(r));
        }
        return r;
      }, inner);
    });
  }

  /** The code of an error response (every error body is ours, in OpenAI's shape). */
  private static String errorCode(HttpResponse r) {
    if (r.entity() instanceof HttpEntity.Strict s) {
      try {
        return HttpJson.MAPPER.readTree(s.getData().toArray()).path("error").path("code").asText("unknown");
      } catch (java.io.IOException e) {
        return "unknown";
      }
    }
    return "unknown";
  }

  private ExceptionHandler exceptions() {
    return ExceptionHandler.newBuilder()
        .match(Throwable.class, e -> complete(HttpJson.error(ApiError.of(e))))
        .build();
  }

  /**
   * Unknown routes, wrong methods (with {@code Allow}), and Pekko's other rejections with their
   * status, all as JSON errors in OpenAI's shape.
   */
  private RejectionHandler rejections() {
    return RejectionHandler.newBuilder()
        .handleNotFound(extractUri(uri -> complete(HttpJson.error(ApiError.notFound(uri.path())))))
        .handleAll(MethodRejection.class, rs -> {
          HttpMethod[] allowed = rs.stream().map(MethodRejection::supported).distinct().toArray(HttpMethod[]::new);
          String names = Arrays.stream(allowed).map(HttpMethod::name).collect(Collectors.joining(", "));
          return complete(HttpJson.error(ApiError.of(ErrorCode.METHOD_NOT_ALLOWED, "this route takes " + names))
              .addHeader(Allow.create(allowed)));
        })
        .handle(MalformedRequestContentRejection.class, r -> complete(HttpJson.error(
            r.getCause() instanceof EntityStreamSizeException
                ? ApiError.of(ErrorCode.REQUEST_TOO_LARGE, "the body exceeds " + settings.maxBodyBytes() + " bytes")
                : ApiError.of(ErrorCode.BAD_REQUEST, r.message()))))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(response -> {
      if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) {
        return response;
      }
      String text = response.entity() instanceof HttpEntity.Strict s ? s.getData().utf8String() : "request rejected";
      int status = response.status().intValue();
      ErrorCode code = switch (status) {
        case 401 -> ErrorCode.INVALID_API_KEY;
        case 404 -> ErrorCode.NOT_FOUND;
        case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
        case 413 -> ErrorCode.REQUEST_TOO_LARGE;
        default -> ErrorCode.BAD_REQUEST;
      };
      return HttpJson.error(ApiError.of(code, text)).withStatus(response.status()).addHeaders(response.getHeaders());
    });
  }
}
