package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitReason;
import dev.exitflow.model.runtime.Base64Floats;
import dev.exitflow.streams.Chunking;
import dev.exitflow.streams.FloatArrayJson;
import dev.exitflow.streams.request.DecodedRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** The request/response logic of {@code POST /v1/embeddings} (OpenAI's shape) and {@code POST /v1/embed} (native). */
final class EmbeddingApi {
  static final String EXIT_HEADER = "X-Exitflow-Exit-Layers";

  private final EncoderRuntime runtime;
  private final RequestDecoder decoder;

  EmbeddingApi(EncoderRuntime runtime, RequestDecoder decoder) {
    this.runtime = runtime;
    this.decoder = decoder;
  }

  CompletionStage<HttpResponse> openAi(byte[] body) {
    return openAi(body, RequestDefaults.INTERACTIVE);
  }

  /** As {@code POST /v1/embeddings}, with other defaults (a batch line: bulk priority). */
  CompletionStage<HttpResponse> openAi(byte[] body, RequestDefaults defaults) {
    return run(body, defaults, (g, req, results) -> {
      g.writeStartObject();
      g.writeStringField("object", "list");
      g.writeArrayFieldStart("data");
      int tokens = 0;
      for (int i = 0; i < results.size(); i++) {
        EmbeddingResult r = results.get(i);
        tokens += r.tokens();
        g.writeStartObject();
        g.writeStringField("object", "embedding");
        g.writeNumberField("index", i);
        writeEmbedding(g, "embedding", r.embedding(), req.base64());
        g.writeNumberField("exit_layer", r.exitLayer());
        writeFidelity(g, r);
        writeChunks(g, r);
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeStringField("model", runtime.model().name());
      g.writeObjectFieldStart("usage");
      g.writeNumberField("prompt_tokens", tokens);
      g.writeNumberField("total_tokens", tokens);
      g.writeEndObject();
      g.writeEndObject();
    });
  }

  CompletionStage<HttpResponse> nativeEmbed(byte[] body) {
    return run(body, RequestDefaults.INTERACTIVE, (g, req, results) -> {
      g.writeStartObject();
      g.writeStringField("model", runtime.model().name());
      g.writeArrayFieldStart("results");
      for (int i = 0; i < results.size(); i++) {
        EmbeddingResult r = results.get(i);
        g.writeStartObject();
        g.writeNumberField("index", i);
        writeEmbedding(g, "embedding", r.embedding(), req.base64());
        g.writeNumberField("exit_layer", r.exitLayer());
        writeFidelity(g, r);
        g.writeStringField("exit_reason", REASONS[r.reason().ordinal()]);
        g.writeNumberField("tokens", r.tokens());
        g.writeBooleanField("truncated", r.truncated());
        g.writeNumberField("queue_ms", r.queueMs());
        g.writeNumberField("compute_ms", r.computeMs());
        writeChunks(g, r);
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  /** Exit reasons as the API spells them, by ordinal. */
  static final String[] REASONS = java.util.Arrays.stream(ExitReason.values())
      .map(r -> r.name().toLowerCase(Locale.ROOT)).toArray(String[]::new);

  /** Writes the answer straight to JSON: no tree of nodes per result. */
  private interface Render {
    void write(JsonGenerator g, DecodedRequest request, List<EmbeddingResult> results) throws IOException;
  }

  private CompletionStage<HttpResponse> run(byte[] body, RequestDefaults defaults, Render render) {
    DecodedRequest req;
    try {
      req = decoder.body(body, defaults);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(HttpJson.error(ApiError.of(e)));
    }
    return Chunking.submitAll(runtime, req.requests(), req.windows()).handle((results, error) -> {
      if (error != null) {
        return HttpJson.error(ApiError.of(error));
      }
      StringBuilder exits = new StringBuilder();
      for (EmbeddingResult r : results) {
        exits.append(exits.length() == 0 ? "" : ",").append(r.exitLayer());
      }
      int dims = results.isEmpty() ? 0 : results.get(0).embedding().length;
      return HttpJson.ok(results.size() * (200 + dims * (req.base64() ? 6 : 12)), g -> render.write(g, req, results))
          .addHeader(RawHeader.create(EXIT_HEADER, exits.toString()));
    });
  }

  static void writeEmbedding(JsonGenerator g, String field, float[] v, boolean base64) throws IOException {
    g.writeFieldName(field);
    if (base64) {
      g.writeString(Base64Floats.encode(v));
    } else {
      FloatArrayJson.write(g, v);
    }
  }

  static void writeFidelity(JsonGenerator g, EmbeddingResult r) throws IOException {
    if (Double.isNaN(r.fidelity())) {
      g.writeNullField("exit_fidelity");
    } else {
      g.writeNumberField("exit_fidelity", r.fidelity());
    }
  }

  static void writeChunks(JsonGenerator g, EmbeddingResult r) throws IOException {
    if (r.chunks() > 0) {
      g.writeNumberField("chunks", r.chunks());
    }
  }

  static void putEmbedding(ObjectNode item, String field, float[] v, boolean base64) {
    if (base64) {
      item.put(field, Base64Floats.encode(v));
    } else {
      item.putPOJO(field, new JsonFloats(v));
    }
  }

  /** How many windows a chunked text was pooled from ({@code long_text: chunk}); nothing for a truncated one. */
  static void putChunks(ObjectNode item, EmbeddingResult r) {
    if (r.chunks() > 0) {
      item.put("chunks", r.chunks());
    }
  }

  /** The fidelity of a result's exit, null when unknown (an exit without adapter). */
  static Double fidelity(EmbeddingResult r) {
    return Double.isNaN(r.fidelity()) ? null : r.fidelity();
  }
}
