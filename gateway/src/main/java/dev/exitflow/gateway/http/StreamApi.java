package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * {@code GET /v1/stream}: a WebSocket where each text frame is a request and each result comes
 * back as a frame with the same id as soon as it is done (any order). At most
 * {@code websocket-parallelism} requests of a connection are in flight; beyond that the flow stops
 * pulling frames, so a client that does not read its results stops being read from (TCP
 * backpressure) instead of making the server buffer. A bad frame gets an error frame and the
 * stream goes on. With {@code "upgrade": true} the first exit's result comes at once and the deep
 * one later, marked {@code "final": true}.
 */
final class StreamApi {
  private static final LineRequest.Defaults DEFAULTS =
      new LineRequest.Defaults(ExitPolicy.Deep.INSTANCE, null, Priority.INTERACTIVE);

  private final EncoderRuntime runtime;
  private final GatewaySettings settings;
  private final Materializer materializer;

  StreamApi(EncoderRuntime runtime, GatewaySettings settings, Materializer materializer) {
    this.runtime = runtime;
    this.settings = settings;
    this.materializer = materializer;
  }

  Flow<Message, Message, NotUsed> flow() {
    return Flow.<Message>create()
        .mapAsync(1, this::text)
        .flatMapMerge(settings.websocketParallelism(), this::answer)
        .map(node -> (Message) TextMessage.create(Json.string(node)));
  }

  /** The frame's text (a streamed text frame is collected); empty for a binary frame, which is drained. */
  private CompletableFuture<Optional<String>> text(Message m) {
    if (m.isText()) {
      return m.asTextMessage().getStreamedText().runFold("", String::concat, materializer)
          .thenApply(Optional::of).toCompletableFuture();
    }
    m.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), materializer);
    return CompletableFuture.completedFuture(Optional.empty());
  }

  private Source<ObjectNode, NotUsed> answer(Optional<String> text) {
    LineRequest line;
    try {
      if (text.isEmpty()) {
        throw new LineRequest.Invalid(null, "binary_frame", "binary frames are not supported; send JSON text frames");
      }
      line = LineRequest.decode(text.get(), false, DEFAULTS, settings.maxInputChars());
    } catch (LineRequest.Invalid e) {
      return Source.single(error(e.id(), ApiError.of(e)));
    }
    JsonNode id = line.id();
    EmbeddingRequest request = line.request();
    if (!line.upgrade()) {
      return Source.completionStage(runtime.submit(request).handle((r, e) -> frame(id, r, e, true)));
    }
    // Upgrade: the preview at the first exit, then the deep result from the same computation.
    EmbeddingRequest deep = new EmbeddingRequest(request.text(), ExitPolicy.Deep.INSTANCE, request.deadlineMs(),
        request.priority(), request.dimensions());
    CompletableFuture<Optional<EmbeddingResult>> preview = new CompletableFuture<>();
    CompletableFuture<ObjectNode> last = runtime.submitWithPreview(deep, r -> preview.complete(Optional.of(r)))
        .handle((r, e) -> {
          preview.complete(Optional.empty()); // failed before the first exit: no preview
          return frame(id, r, e, true);
        }).toCompletableFuture();
    return Source.completionStage(preview)
        .filter(Optional::isPresent)
        .map(r -> frame(id, r.get(), null, false))
        .concat(Source.completionStage(last));
  }

  /**
   * The last frame of a session the server ends because it is stopping, sent after the results of
   * every request it admitted ({@code admitted}: the frames it read, each answered before this one). Pekko HTTP then closes with 1000: it has no API for a server to send
   * another close code, so the frame carries the 1001 ("going away") a client should act on.
   */
  static Message goodbye(long admitted) {
    ObjectNode out = Json.MAPPER.valueToTree(ApiError.of(new dev.exitflow.actors.ShuttingDown()).body());
    out.put("close_code", 1001).put("close_reason", "server shutting down").put("admitted", admitted);
    return TextMessage.create(Json.string(out));
  }

  private ObjectNode frame(JsonNode id, EmbeddingResult r, Throwable error, boolean fin) {
    if (error != null) {
      return error(id, ApiError.of(error instanceof CompletionException c ? c.getCause() : error));
    }
    ObjectNode out = Json.object();
    if (id != null) {
      out.set("id", id);
    }
    EmbeddingApi.putEmbedding(out, "embedding", r.embedding(), false);
    return out.put("exit_layer", r.exitLayer())
        .put("exit_reason", r.reason().name().toLowerCase())
        .put("tokens", r.tokens())
        .put("truncated", r.truncated())
        .put("final", fin);
  }

  private static ObjectNode error(JsonNode id, ApiError e) {
    ObjectNode out = Json.MAPPER.valueToTree(e.body());
    if (id != null) {
      out.set("id", id);
    }
    return out;
  }
}
