package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.runtime.Base64Floats;
import dev.exitflow.streams.Chunking;
import dev.exitflow.streams.request.DecodedRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
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
    return run(body, defaults, (req, results) -> {
      ObjectNode out = HttpJson.object().put("object", "list");
      ArrayNode data = out.putArray("data");
      for (int i = 0; i < results.size(); i++) {
        EmbeddingResult r = results.get(i);
        ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
        putEmbedding(item, "embedding", r.embedding(), req.base64());
        item.put("exit_layer", r.exitLayer()).put("exit_fidelity", fidelity(r));
        putChunks(item, r);
      }
      out.put("model", runtime.model().name());
      int tokens = results.stream().mapToInt(EmbeddingResult::tokens).sum();
      out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
      return out;
    });
  }

  CompletionStage<HttpResponse> nativeEmbed(byte[] body) {
    return run(body, RequestDefaults.INTERACTIVE, (req, results) -> {
      ObjectNode out = HttpJson.object().put("model", runtime.model().name());
      ArrayNode items = out.putArray("results");
      for (int i = 0; i < results.size(); i++) {
        EmbeddingResult r = results.get(i);
        ObjectNode item = items.addObject().put("index", i);
        putEmbedding(item, "embedding", r.embedding(), req.base64());
        item.put("exit_layer", r.exitLayer())
            .put("exit_fidelity", fidelity(r))
            .put("exit_reason", r.reason().name().toLowerCase())
            .put("tokens", r.tokens())
            .put("truncated", r.truncated())
            .put("queue_ms", r.queueMs())
            .put("compute_ms", r.computeMs());
        putChunks(item, r);
      }
      return out;
    });
  }

  private interface Render {
    ObjectNode render(DecodedRequest request, List<EmbeddingResult> results);
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
      String exits = results.stream().map(r -> String.valueOf(r.exitLayer())).collect(Collectors.joining(","));
      return HttpJson.ok(render.render(req, results)).addHeader(RawHeader.create(EXIT_HEADER, exits));
    });
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
