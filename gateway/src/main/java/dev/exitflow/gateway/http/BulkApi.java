package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.streams.InferenceFlow;
import dev.exitflow.streams.Job;
import dev.exitflow.streams.Scored;
import java.nio.charset.StandardCharsets;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.FramingTruncation;
import org.apache.pekko.util.ByteString;

/**
 * Bulk scoring, as NDJSON bytes in and NDJSON bytes out, in input order: the flow behind
 * {@code POST /v1/bulk} and {@code exitflow score}. Lines are JSON requests or plain text; blank
 * lines are skipped; a bad line yields an error line and the rest goes on. Memory stays constant
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
  public static Flow<ByteString, ByteString, NotUsed> flow(EncoderRuntime runtime, ExitPolicy exit, Integer dimensions,
      int parallelism, int maxLineBytes, int maxChars, long firstLine) {
    LineRequest.Defaults defaults = new LineRequest.Defaults(exit, dimensions, Priority.BULK);
    return Flow.<ByteString>create()
        .via(Framing.delimiter(ByteString.fromString("\n"), FRAME_LIMIT, FramingTruncation.ALLOW))
        .zipWithIndex()
        .filter(p -> !p.first().utf8String().isBlank())
        .map(p -> job(p.first(), firstLine + p.second(), defaults, maxLineBytes, maxChars))
        .via(InferenceFlow.<Origin>ordered(runtime, parallelism))
        .map(BulkApi::line);
  }

  private static Job<Origin> job(ByteString bytes, long line, LineRequest.Defaults defaults, int maxLineBytes,
      int maxChars) {
    if (bytes.size() > maxLineBytes) {
      return Job.invalid(new Origin(line, null), new LineRequest.Invalid(null, "line_too_long",
          "line of " + bytes.size() + " bytes; the limit is " + maxLineBytes));
    }
    try {
      LineRequest r = LineRequest.decode(bytes.decodeString(StandardCharsets.UTF_8), true, defaults, maxChars);
      return Job.of(new Origin(line, r.id()), r.request());
    } catch (LineRequest.Invalid e) {
      return Job.invalid(new Origin(line, e.id()), e);
    }
  }

  /**
   * The last line of a bulk response cut short because the server stopped (its drain deadline ran
   * out before the upload ended): the lines before it are complete; send the rest again.
   */
  static ByteString stoppingLine() {
    ObjectNode out = Json.object();
    out.setAll((ObjectNode) Json.MAPPER.valueToTree(ApiError.of(new dev.exitflow.actors.ShuttingDown()).body()));
    return ByteString.fromString(Json.string(out) + "\n");
  }

  private static ByteString line(Scored<Origin> s) {
    ObjectNode out = Json.object().put("line", s.context().line());
    if (s.context().id() != null) {
      out.set("id", s.context().id());
    }
    if (s.ok()) {
      EmbeddingApi.putEmbedding(out, "embedding", s.result().embedding(), false);
      out.put("exit_layer", s.result().exitLayer()).put("tokens", s.result().tokens())
          .put("truncated", s.result().truncated());
    } else {
      out.setAll((ObjectNode) Json.MAPPER.valueToTree(ApiError.of(s.error()).body()));
    }
    return ByteString.fromString(Json.string(out) + "\n");
  }
}
