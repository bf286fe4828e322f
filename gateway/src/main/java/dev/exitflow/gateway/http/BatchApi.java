package dev.exitflow.gateway.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.exitflow.gateway.batch.BatchException;
import dev.exitflow.gateway.batch.BatchRunner;
import dev.exitflow.gateway.batch.FileStore;
import dev.exitflow.gateway.batch.StoredFile;
import dev.exitflow.streams.request.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.Multipart;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * OpenAI's Files and Batch APIs for {@code /v1/embeddings}: {@code POST /v1/files} (multipart,
 * {@code purpose=batch}, streamed to disk), {@code GET /v1/files}, {@code GET /v1/files/{id}},
 * {@code GET /v1/files/{id}/content} (streamed), {@code DELETE /v1/files/{id}}; {@code POST
 * /v1/batches}, {@code GET /v1/batches} (newest first, {@code limit} and {@code after}), {@code GET
 * /v1/batches/{id}}, {@code POST /v1/batches/{id}/cancel}. Files and batches live in the data
 * directory and survive restarts; {@link BatchRunner} runs the batches.
 */
public final class BatchApi extends AllDirectives {
  private final FileStore files;
  private final BatchRunner batches;
  private final long maxFileBytes;
  private final Materializer mat;

  BatchApi(FileStore files, BatchRunner batches, long maxFileBytes, Materializer mat) {
    this.files = files;
    this.batches = batches;
    this.maxFileBytes = maxFileBytes;
    this.mat = mat;
  }

  Route routes() {
    return concat(
        pathPrefix("files", () -> concat(
            pathEnd(() -> concat(
                post(() -> withoutSizeLimit(() -> entity(Unmarshaller.entityToMultipartFormData(),
                    form -> completeWithFuture(upload(form))))),
                get(() -> complete(HttpJson.ok(list(files.list().stream().map(f -> (JsonNode) HttpJson.MAPPER.valueToTree(f))
                    .toList(), false)))))),
            path(PathMatchers.segment(), id -> concat(
                get(() -> complete(file(id).map(HttpJson::ok).orElseGet(() -> fileNotFound(id)))),
                delete(() -> complete(files.delete(id)
                    ? HttpJson.ok(HttpJson.object().put("id", id).put("object", "file").put("deleted", true))
                    : fileNotFound(id))))),
            path(PathMatchers.segment().slash("content"), id -> get(() -> complete(content(id)))))),
        pathPrefix("batches", () -> concat(
            pathEnd(() -> concat(
                post(() -> entity(Unmarshaller.entityToString(), body -> complete(create(body)))),
                get(() -> parameterOptional("after", after -> parameterOptional("limit", limit ->
                    complete(listBatches(after.orElse(null), limit))))))),
            path(PathMatchers.segment(), id -> get(() -> complete(batches.get(id).map(HttpJson::ok)
                .orElseGet(() -> HttpJson.error(ApiError.of(ErrorCode.BATCH_NOT_FOUND, "no batch " + id)))))),
            path(PathMatchers.segment().slash("cancel"), id -> post(() -> complete(guard(() -> HttpJson.ok(batches.cancel(id))))))))
    );
  }

  private Optional<StoredFile> file(String id) {
    return files.get(id);
  }

  private static HttpResponse fileNotFound(String id) {
    return HttpJson.error(ApiError.of(ErrorCode.FILE_NOT_FOUND, "no file " + id));
  }

  private HttpResponse content(String id) {
    if (file(id).isEmpty()) {
      return fileNotFound(id);
    }
    Path data = files.data(id);
    return HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM,
        data.toFile().length(), FileIO.fromPath(data)));
  }

  /** The {@code file} part streams to disk (at most max-file-bytes); {@code purpose} must be {@code batch}. */
  private CompletionStage<HttpResponse> upload(Multipart.FormData form) {
    Path target = files.newUpload();
    AtomicReference<String> purpose = new AtomicReference<>();
    AtomicReference<String> filename = new AtomicReference<>();
    AtomicLong bytes = new AtomicLong();
    return form.getParts().mapAsync(1, part -> {
      if (part.getName().equals("file")) {
        filename.set(part.getFilename().orElse("upload.jsonl"));
        return part.getEntity().getDataBytes()
            .map(b -> {
              if (bytes.addAndGet(b.size()) > maxFileBytes) {
                throw new BatchException(ErrorCode.REQUEST_TOO_LARGE,
                    "the file exceeds " + maxFileBytes + " bytes (exitflow.batch.max-file-bytes)");
              }
              return b;
            })
            .runWith(FileIO.toPath(target), mat).thenApply(r -> "");
      }
      return part.getEntity().toStrict(10_000, 65_536, mat).thenApply(e -> {
        if (part.getName().equals("purpose")) {
          purpose.set(e.getData().utf8String().trim());
        }
        return "";
      });
    }).runWith(Sink.ignore(), mat).handle((done, error) -> {
      try {
        if (error != null) {
          Files.deleteIfExists(target);
          // the limit's BatchException arrives wrapped (by the future, and by FileIO's IOOperationIncompleteException)
          Throwable cause = error;
          while (cause != null && !(cause instanceof BatchException)) {
            cause = cause.getCause();
          }
          return HttpJson.error(ApiError.of(cause != null ? cause : error));
        }
        if (filename.get() == null) {
          return HttpJson.error(ApiError.of(ErrorCode.INVALID_BATCH, "the form has no `file` part"));
        }
        if (!"batch".equals(purpose.get())) {
          Files.deleteIfExists(target);
          return HttpJson.error(ApiError.of(ErrorCode.INVALID_BATCH,
              "purpose must be \"batch\" (the only use of files here), got " + purpose.get()));
        }
        return HttpJson.ok(files.add(target, filename.get(), "batch"));
      } catch (java.io.IOException e) {
        return HttpJson.error(ApiError.of(e));
      }
    });
  }

  private HttpResponse create(String body) {
    return guard(() -> {
      JsonNode json;
      try {
        json = HttpJson.MAPPER.readTree(body);
      } catch (java.io.IOException e) {
        return HttpJson.error(ApiError.of(ErrorCode.INVALID_JSON, "the body is not JSON: " + e.getMessage()));
      }
      if (json == null || !json.isObject()) {
        return HttpJson.error(ApiError.of(ErrorCode.INVALID_JSON, "the body is not a JSON object"));
      }
      return HttpJson.ok(batches.create(json.path("input_file_id").asText(null), json.path("endpoint").asText(null),
          json.path("completion_window").asText("24h"), json.get("metadata")));
    });
  }

  private HttpResponse listBatches(String after, Optional<String> limitParam) {
    int limit;
    try {
      limit = limitParam.map(Integer::parseInt).orElse(20);
    } catch (NumberFormatException e) {
      return HttpJson.error(ApiError.of(ErrorCode.INVALID_TYPE, "limit must be an integer, got " + limitParam.get()));
    }
    if (limit < 1 || limit > 100) {
      return HttpJson.error(ApiError.of(ErrorCode.INVALID_BATCH, "limit must be between 1 and 100, got " + limit));
    }
    Pair<List<ObjectNode>, Boolean> page = batches.list(after, limit);
    return HttpJson.ok(list(List.copyOf(page.first()), page.second()));
  }

  private static ObjectNode list(List<? extends JsonNode> items, boolean more) {
    ObjectNode out = HttpJson.object().put("object", "list");
    ArrayNode data = out.putArray("data");
    items.forEach(data::add);
    if (items.isEmpty()) {
      out.putNull("first_id");
      out.putNull("last_id");
    } else {
      out.put("first_id", items.get(0).path("id").asText()).put("last_id", items.get(items.size() - 1).path("id").asText());
    }
    return out.put("has_more", more);
  }

  private static HttpResponse guard(java.util.function.Supplier<HttpResponse> action) {
    try {
      return action.get();
    } catch (BatchException e) {
      return HttpJson.error(ApiError.of(e));
    }
  }

  /** What runs a batch line: the code of {@code POST /v1/embeddings}, with bulk priority. */
  public static dev.exitflow.gateway.batch.LineEmbedder lineEmbedder(dev.exitflow.actors.EncoderRuntime runtime,
      GatewaySettings settings) {
    EmbeddingApi api = new EmbeddingApi(runtime, dev.exitflow.streams.request.RequestDecoder.forRuntime(runtime,
        settings.requests()));
    return body -> api.openAi(body, dev.exitflow.streams.request.RequestDefaults.BULK).thenCompose(BatchApi::answer);
  }

  /** The answer of {@code POST /v1/embeddings} to a batch line's body, for {@link BatchRunner}. */
  static CompletionStage<dev.exitflow.gateway.batch.LineEmbedder.Answer> answer(HttpResponse r) {
    byte[] body = ((org.apache.pekko.http.javadsl.model.HttpEntity.Strict) r.entity()).getData().toArray();
    java.time.Duration retry = r.getHeader("retry-after-ms").map(h -> java.time.Duration.ofMillis(Long.parseLong(h.value())))
        .or(() -> r.getHeader("Retry-After").map(h -> java.time.Duration.ofSeconds(Long.parseLong(h.value()))))
        .orElse(null);
    return CompletableFuture.completedFuture(
        new dev.exitflow.gateway.batch.LineEmbedder.Answer(r.status().intValue(), body, retry));
  }
}
