package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.model.Failures;
import dev.exitflow.streams.Chunking;
import dev.exitflow.streams.request.DecodedRequest;
import dev.exitflow.streams.request.ErrorCode;
import dev.exitflow.streams.request.InvalidRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * {@code GET /v1/stream}: a WebSocket where each text frame is a request and each result comes
 * back as a frame with the same id as soon as it is done (any order). At most
 * {@code websocket-parallelism} requests of a connection are in flight; beyond that the flow stops
 * pulling frames, so a client that does not read its results stops being read from (TCP
 * backpressure) instead of making the server buffer. A frame is a request as the shared
 * RequestDecoder reads it, JSON in a text frame or UTF-8 bytes in a binary one; a bad frame gets
 * an error frame (with its id, if it had a valid one) and the stream goes on. With {@code "upgrade": true} the first exit's result comes at once and the deep
 * one later, marked {@code "final": true}.
 */
final class StreamApi {
  private final EncoderRuntime runtime;
  private final RequestDecoder decoder;
  private final GatewaySettings settings;
  private final Materializer materializer;
  /** Hears the code of every error frame (for metrics). */
  private final Consumer<String> errors;

  StreamApi(EncoderRuntime runtime, RequestDecoder decoder, GatewaySettings settings, Materializer materializer,
      Consumer<String> errors) {
    this.runtime = runtime;
    this.decoder = decoder;
    this.settings = settings;
    this.materializer = materializer;
    this.errors = errors;
  }

  Flow<Message, Message, NotUsed> flow() {
    return Flow.<Message>create()
        .mapAsync(1, this::read)
        .flatMapMerge(settings.websocketParallelism(), this::answer)
        .map(json -> (Message) TextMessage.create(json));
  }

  /**
   * A frame decoded by the shared decoder: a text frame as text, a binary frame as UTF-8 bytes
   * (where bad UTF-8 is caught); either collected up to {@code max-body-bytes}.
   */
  private CompletableFuture<Supplier<DecodedRequest>> read(Message m) {
    long max = settings.maxBodyBytes();
    // A frame that arrived whole (most) is read without running a stream for it.
    if (m.isText() && m.asTextMessage().isStrict() && m.asTextMessage().getStrictText().length() <= max) {
      String text = m.asTextMessage().getStrictText();
      return CompletableFuture.completedFuture(() -> decoder.frame(text, RequestDefaults.INTERACTIVE));
    }
    if (!m.isText() && m.asBinaryMessage().isStrict() && m.asBinaryMessage().getStrictData().size() <= max) {
      ByteString bytes = m.asBinaryMessage().getStrictData();
      return CompletableFuture.completedFuture(() -> decoder.frame(bytes.toArray(), RequestDefaults.INTERACTIVE));
    }
    // runFold's stage is Scala's, which runs even thenApply on the common pool: a new thread per
    // frame where that pool has one thread (two cores). On the stream's dispatcher instead.
    CompletionStage<Supplier<DecodedRequest>> decoded = m.isText()
        ? m.asTextMessage().getStreamedText().limitWeighted(max, t -> (long) t.length())
            .runFold(new StringBuilder(), StringBuilder::append, materializer)
            .thenApplyAsync(text -> () -> decoder.frame(text.toString(), RequestDefaults.INTERACTIVE),
                materializer.executionContext())
        : m.asBinaryMessage().getStreamedData().limitWeighted(max, b -> (long) b.size())
            .runFold(ByteString.emptyByteString(), ByteString::concat, materializer)
            .thenApplyAsync(bytes -> () -> decoder.frame(bytes.toArray(), RequestDefaults.INTERACTIVE),
                materializer.executionContext());
    return decoded.exceptionally(e -> () -> {
      throw new InvalidRequest(ErrorCode.REQUEST_TOO_LARGE, null, "the frame exceeds " + max + " bytes");
    }).toCompletableFuture();
  }

  /** The frames answering one request, as JSON text. */
  private Source<String, NotUsed> answer(Supplier<DecodedRequest> frame) {
    DecodedRequest line;
    try {
      line = frame.get();
    } catch (InvalidRequest e) {
      return Source.single(error(e.id(), ApiError.of(e)));
    }
    JsonNode id = line.id();
    EmbeddingRequest request = line.request();
    int chunks = line.window() == null ? 0 : line.window().count();
    if (!line.upgrade() || chunks > 1) { // a chunked text's windows have no one first exit to preview
      return Source.completionStage(Chunking.submit(runtime, request, line.window())
          .handle((r, e) -> frame(id, r, e, true)));
    }
    // Upgrade: the preview at the first exit, then the deep result from the same computation.
    EmbeddingRequest deep = new EmbeddingRequest(request.text(), ExitPolicy.Deep.INSTANCE, request.deadlineMs(),
        request.priority(), request.dimensions());
    CompletableFuture<Optional<EmbeddingResult>> preview = new CompletableFuture<>();
    CompletableFuture<String> last = runtime.submitWithPreview(deep, r -> preview.complete(Optional.of(r)))
        .handle((r, e) -> {
          preview.complete(Optional.empty()); // failed before the first exit: no preview
          return frame(id, r == null ? null : withChunks(r, chunks), e, true);
        }).toCompletableFuture();
    return Source.completionStage(preview)
        .filter(Optional::isPresent)
        .map(r -> frame(id, withChunks(r.get(), chunks), null, false))
        .concat(Source.completionStage(last));
  }

  /**
   * The last frame of a session the server ends because it is stopping, sent after the results of
   * every request it admitted ({@code admitted}: the frames it read, each answered before this one). Pekko HTTP then closes with 1000: it has no API for a server to send
   * another close code, so the frame carries the 1001 ("going away") a client should act on.
   */
  static Message goodbye(long admitted) {
    ObjectNode out = HttpJson.MAPPER.valueToTree(ApiError.of(new dev.exitflow.actors.ShuttingDown()).body());
    out.put("close_code", 1001).put("close_reason", "server shutting down").put("admitted", admitted);
    return TextMessage.create(HttpJson.string(out));
  }

  /** A result frame, written straight to JSON (an error frame from its tree). */
  private String frame(JsonNode id, EmbeddingResult r, Throwable error, boolean fin) {
    if (error != null) {
      return error(id, ApiError.of(Failures.unwrap(error)));
    }
    StringWriter out = new StringWriter(200 + r.embedding().length * 12);
    try (JsonGenerator g = HttpJson.MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      if (id != null) {
        g.writeFieldName("id");
        g.writeTree(id);
      }
      EmbeddingApi.writeEmbedding(g, "embedding", r.embedding(), false);
      g.writeNumberField("exit_layer", r.exitLayer());
      EmbeddingApi.writeFidelity(g, r);
      g.writeStringField("exit_reason", EmbeddingApi.REASONS[r.reason().ordinal()]);
      g.writeNumberField("tokens", r.tokens());
      g.writeBooleanField("truncated", r.truncated());
      EmbeddingApi.writeChunks(g, r);
      g.writeBooleanField("final", fin);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** A one-window chunked text's result as chunk mode reports it ({@code chunks: 1}); others unchanged. */
  private static EmbeddingResult withChunks(EmbeddingResult r, int chunks) {
    return chunks == 0 ? r : new EmbeddingResult(r.embedding(), r.exitLayer(), r.reason(), r.tokens(), r.truncated(),
        r.queueMs(), r.computeMs(), r.fidelity(), chunks);
  }

  private String error(JsonNode id, ApiError e) {
    errors.accept(e.code());
    ObjectNode out = e.body();
    if (id != null) {
      out.set("id", id);
    }
    return HttpJson.string(out);
  }
}
