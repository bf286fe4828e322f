package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.ShuttingDown;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
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
  private static final Map<String, String> ROUTE_LABELS = Map.of(
      "/v1/embeddings", "embeddings", "/v1/embed", "embed", "/v1/stream", "stream", "/v1/bulk", "bulk",
      "/v1/models", "models", "/health/live", "live", "/health/ready", "ready", "/metrics", "metrics");

  private final EncoderRuntime runtime;
  private final GatewaySettings settings;
  private final GatewayMetrics metrics;
  private final EmbeddingApi embeddings;
  private final StreamApi stream;
  private final HttpDrain drain;
  private final Health health;
  private final long created = Instant.now().getEpochSecond();

  public ExitflowRoutes(EncoderRuntime runtime, GatewaySettings settings, GatewayMetrics metrics, Materializer mat,
      HttpDrain drain, Health health) {
    this.runtime = runtime;
    this.settings = settings;
    this.metrics = metrics;
    this.embeddings = new EmbeddingApi(runtime, settings);
    this.stream = new StreamApi(runtime, settings, mat);
    this.drain = drain;
    this.health = health;
  }

  /** Health and metrics answer while draining (readiness says so); everything else goes through the drain's gate. */
  public Route routes() {
    return timed(() -> handleExceptions(exceptions(), () -> handleRejections(rejections(), () -> concat(
        path("metrics", () -> get(this::metricsRoute)),
        path("health", () -> get(() -> complete(Json.ok(health.components())))),
        pathPrefix("health", () -> concat(
            path("live", () -> get(() -> complete(Json.ok(Map.of("status", "live"))))),
            path("ready", () -> get(() -> health.ready()
                ? complete(Json.ok(Map.of("status", "ready", "model", runtime.model().name())))
                : complete(Json.error(drain.draining() ? ApiError.of(new ShuttingDown()) : ApiError.notReady())))))),
        drain.gate(this::api)))));
  }

  private Route api() {
    return concat(
        pathPrefix("v1", () -> authenticated(() -> concat(
            path("models", () -> get(() -> complete(Json.ok(models())))),
            whenReady(() -> concat(
                path("embeddings", () -> post(() -> jsonBody(embeddings::openAi))),
                path("embed", () -> post(() -> jsonBody(embeddings::nativeEmbed))),
                path("stream", () -> handleWebSocketMessages(drain.websocket(stream.flow(), StreamApi::goodbye))),
                path("bulk", () -> post(this::bulkRoute))))))));
  }

  private Route jsonBody(java.util.function.Function<String, CompletionStage<HttpResponse>> handler) {
    return withSizeLimit(settings.maxBodyBytes(), () ->
        entity(Unmarshaller.entityToString(), body -> completeWithFuture(handler.apply(body))));
  }

  private Route bulkRoute() {
    return parameterOptional("exit", exit -> parameterOptional("dimensions", dims -> withoutSizeLimit(() ->
        extractDataBytes(bytes -> {
          ExitPolicy policy = exit.map(ExitPolicy::parse).orElse(ExitPolicy.Deep.INSTANCE);
          Integer dimensions = dims.map(Integer::valueOf).orElse(null);
          return complete(HttpResponse.create().withEntity(HttpEntities.createChunked(NDJSON,
              bytes.via(BulkApi.flow(runtime, policy, dimensions, settings.bulkParallelism(),
                  settings.maxBulkLineBytes(), settings.maxInputChars(), 1))
                  .via(drain.bulk(BulkApi::stoppingLine)))));
        }))));
  }

  private Route metricsRoute() {
    return completeWithFuture(runtime.stats().thenApply(stats -> HttpResponse.create().withEntity(
        ContentTypes.parse(metrics.contentType()), ByteString.fromString(metrics.scrape(stats)))));
  }

  private ObjectNode models() {
    ObjectNode out = Json.object().put("object", "list");
    ObjectNode m = out.putArray("data").addObject()
        .put("id", runtime.model().name())
        .put("object", "model")
        .put("created", created)
        .put("owned_by", "exitflow");
    runtime.exitLayers().forEach(m.putArray("exit_layers")::add);
    return out;
  }

  private Route authenticated(Supplier<Route> inner) {
    if (settings.apiKey().isEmpty()) {
      return inner.get();
    }
    return optionalHeaderValueByName("Authorization", header ->
        header.filter(h -> h.equals("Bearer " + settings.apiKey())).isPresent()
            ? inner.get()
            : complete(Json.error(ApiError.unauthorized())));
  }

  private Route whenReady(Supplier<Route> inner) {
    return runtime.isReady() ? inner.get() : complete(Json.error(ApiError.notReady()));
  }

  /** Counts and times every response by route and status. */
  private Route timed(Supplier<Route> inner) {
    return extractUri(uri -> {
      long start = System.nanoTime();
      String label = ROUTE_LABELS.getOrDefault(uri.path(), "other");
      return mapResponse(r -> {
        metrics.recordRequest(label, r.status().intValue(), System.nanoTime() - start);
        return r;
      }, inner);
    });
  }

  private ExceptionHandler exceptions() {
    return ExceptionHandler.newBuilder()
        .match(Throwable.class, e -> complete(Json.error(ApiError.of(e))))
        .build();
  }

  /** Unknown routes, and Pekko's own rejections (wrong method, bad parameters...) with their status, as JSON errors. */
  private RejectionHandler rejections() {
    return RejectionHandler.newBuilder()
        .handleNotFound(extractUri(uri -> complete(Json.error(ApiError.notFound(uri.path())))))
        .handle(MalformedRequestContentRejection.class, r -> complete(Json.error(
            r.getCause() instanceof EntityStreamSizeException
                ? ApiError.tooLarge("body_too_large", "the body exceeds " + settings.maxBodyBytes() + " bytes")
                : ApiError.badRequest("malformed_body", r.message()))))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(response -> {
      if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) {
        return response;
      }
      String text = response.entity() instanceof HttpEntity.Strict s ? s.getData().utf8String() : "request rejected";
      int status = response.status().intValue();
      ApiError e = new ApiError(status, status == 404 ? "not_found_error" : "invalid_request_error",
          response.status().reason().toLowerCase().replace(' ', '_'), text, null);
      return Json.error(e);
    });
  }
}
