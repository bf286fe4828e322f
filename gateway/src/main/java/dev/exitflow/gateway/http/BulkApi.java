package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.streams.InferenceFlow;
import dev.exitflow.streams.Job;
import dev.exitflow.streams.Scored;
import dev.exitflow.streams.request.DecodedRequest;
import dev.exitflow.streams.request.ErrorCode;
import dev.exitflow.streams.request.InvalidRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.util.function.Consumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.util.ByteString;

/**
 * Bulk scoring, as NDJSON bytes in and NDJSON bytes out, in input order: the flow behind
 * {@code POST /v1/bulk} and {@code exitflow score}. Lines are JSON requests or plain text, read by
 * the shared RequestDecoder (options a line leaves out come from {@code defaults}); blank lines are
 * skipped; a bad line yields an error line and the rest goes on. Memory stays constant
 * in the input's size: at most {@code parallelism} lines are in flight and the output is
 * backpressured by whoever reads it.
 */
public final class BulkApi {
  /** Lines longer than this cannot even be framed; the configured limit below it yields error lines. */
  private static final int FRAME_LIMIT = 64 * 1024 * 1024;

  private BulkApi() {}

  /** Where an output line comes from: the input line number and the request's id, if it had one. */
  private record Origin(long line, JsonNode id) {}

  /**
   * Each output line carries {@code line}: the input line's number, counting every input line from
   * {@code firstLine} (1 for a whole input; more when resuming).
   */
  public static Flow<ByteString, ByteString, NotUsed> flow(EncoderRuntime runtime, RequestDecoder decoder,
      RequestDefaults defaults, int parallelism, int maxLineBytes, long firstLine, Consumer<String> errors) {
    return Flow.<ByteString>create()
        .via(Framing.delimiter(ByteString.fromString("\n"), FRAME_LIMIT, FramingTruncation.ALLOW))
        .zipWithIndex()
        .filter(p -> !p.first().utf8String().isBlank())
        .map(p -> job(decoder, p.first(), firstLine + p.second(), defaults, maxLineBytes))
        .via(InferenceFlow.<Origin>ordered(runtime, parallelism))
        .map(s -> line(s, errors));
  }

  private static Job<Origin> job(RequestDecoder decoder, ByteString bytes, long line, RequestDefaults defaults,
      int maxLineBytes) {
    if (bytes.size() > maxLineBytes) {
      return Job.invalid(new Origin(line, null), new InvalidRequest(ErrorCode.REQUEST_TOO_LARGE, null,
          "line of " + bytes.size() + " bytes; the limit is " + maxLineBytes + " (exitflow.gateway.limits.max-bulk-line-bytes)"));
    }
    try {
      DecodedRequest r = decoder.line(bytes.toArray(), defaults);
      // A line's deadline is soft: a refused line would be an error line its uploader must resend.
      return Job.of(new Origin(line, r.id()), r.request().withSoftDeadline(), r.window());
    } catch (InvalidRequest e) {
      return Job.invalid(new Origin(line, e.id()), e);
    }
  }

  /**
   * The last line of a bulk response cut short because the server stopped (its drain deadline ran
   * out before the upload ended): the lines before it are complete; send the rest again.
   */
  static ByteString stoppingLine() {
    ObjectNode out = HttpJson.object();
    out.setAll((ObjectNode) HttpJson.MAPPER.valueToTree(ApiError.of(new dev.exitflow.actors.ShuttingDown()).body()));
    return ByteString.fromString(HttpJson.string(out) + "\n");
  }

  /** The output line; {@code errors} hears the code of an error line (for metrics). */
  private static ByteString line(Scored<Origin> s, Consumer<String> errors) {
    ObjectNode out = HttpJson.object().put("line", s.context().line());
    if (s.context().id() != null) {
      out.set("id", s.context().id());
    }
    if (s.ok()) {
      EmbeddingApi.putEmbedding(out, "embedding", s.result().embedding(), false);
      out.put("exit_layer", s.result().exitLayer()).put("exit_fidelity", EmbeddingApi.fidelity(s.result()))
          .put("tokens", s.result().tokens())
          .put("truncated", s.result().truncated());
      EmbeddingApi.putChunks(out, s.result());
    } else {
      ApiError e = ApiError.of(s.error());
      errors.accept(e.code());
      out.setAll(e.body());
    }
    return ByteString.fromString(HttpJson.string(out) + "\n");
  }
}
