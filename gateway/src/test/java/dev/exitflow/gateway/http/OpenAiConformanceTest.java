package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.UnexpectedStatusCodeException;
import com.openai.errors.UnprocessableEntityException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What OpenAI's clients expect of the server: the models endpoints, every error as JSON in
 * OpenAI's shape with the status its SDKs map to a typed exception, including the answers Pekko
 * HTTP gives before a route runs (405 with Allow, 414, 431, a body shorter than its length).
 */
class OpenAiConformanceTest {
  private static RunningServer server;
  private static OpenAIClient client;

  @BeforeAll
  static void start() {
    server = new RunningServer("exitflow.gateway.limits { max-body-bytes = 64k, body-read-timeout = 1s }\n"
        + "exitflow.requests.max-inputs = 16");
    client = OpenAIOkHttpClient.builder().baseUrl(server.base() + "/v1").apiKey("unused").maxRetries(0).build();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void modelsListAndRetrieve() {
    List<Model> models = client.models().list().data();
    assertEquals(List.of("all-minilm-l6-v2"), models.stream().map(Model::id).toList());
    Model m = client.models().retrieve("all-minilm-l6-v2");
    assertEquals("all-minilm-l6-v2", m.id());
    assertEquals("exitflow", m.ownedBy());
    NotFoundException e = assertThrows(NotFoundException.class, () -> client.models().retrieve("gpt-4"));
    assertEquals(404, e.statusCode());
    assertEquals("model_not_found", code(e));
  }

  @Test
  void embeddingsWithEveryOption() {
    CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("all-minilm-l6-v2").inputOfArrayOfStrings(List.of("one", "two"))
        .dimensions(32).encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).user("tester")
        .putAdditionalBodyProperty("exit", JsonValue.from("auto"))
        .putAdditionalBodyProperty("deadline_ms", JsonValue.from(5000))
        .putAdditionalBodyProperty("priority", JsonValue.from("bulk"))
        .build());
    assertEquals(2, r.data().size());
    assertEquals(32, r.data().get(1).embedding().size());
  }

  @Test
  void errorsBecomeTheSdksTypedExceptions() {
    BadRequestException bad = assertThrows(BadRequestException.class, () -> embed(b -> b.input("x")
        .putAdditionalBodyProperty("deadline_ms", JsonValue.from("soon"))));
    assertEquals("invalid_type", code(bad));
    UnprocessableEntityException unknown = assertThrows(UnprocessableEntityException.class, () -> embed(b -> b.input("x")
        .putAdditionalBodyProperty("exit", JsonValue.from("7"))));
    assertEquals("unknown_exit", code(unknown));
    UnexpectedStatusCodeException tooMany = assertThrows(UnexpectedStatusCodeException.class, () -> embed(b ->
        b.inputOfArrayOfStrings(Collections.nCopies(17, "a"))));
    assertEquals(413, tooMany.statusCode());
    assertEquals("too_many_inputs", code(tooMany));
    UnprocessableEntityException model = assertThrows(UnprocessableEntityException.class, () ->
        client.embeddings().create(EmbeddingCreateParams.builder().model("text-embedding-3-small").input("x").build()));
    assertEquals("unknown_model", code(model));
  }

  private static void embed(java.util.function.UnaryOperator<EmbeddingCreateParams.Builder> options) {
    client.embeddings().create(options.apply(EmbeddingCreateParams.builder().model("all-minilm-l6-v2")).build());
  }

  private static String code(OpenAIServiceException e) {
    JsonNode body = e.body().convert(JsonNode.class); // the SDK hands over the "error" object
    return (body.has("error") ? body.get("error") : body).path("code").asText();
  }

  @Test
  void wrongMethodIs405WithAllow() throws Exception {
    HttpResponse<String> r = server.get("/v1/embeddings");
    EmbeddingsRouteTest.assertError(r, 405, "method_not_allowed");
    assertEquals("POST", r.headers().firstValue("Allow").orElseThrow());
    HttpResponse<String> delete = server.http.send(HttpRequest.newBuilder(URI.create(server.base() + "/v1/models"))
        .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    EmbeddingsRouteTest.assertError(delete, 405, "method_not_allowed");
    assertEquals("GET", delete.headers().firstValue("Allow").orElseThrow());
  }

  @Test
  void oversizedRequestLinesAndHeadersAreJson() throws Exception {
    HttpResponse<String> uri = server.get("/v1/models?q=" + "x".repeat(20_000));
    EmbeddingsRouteTest.assertError(uri, 414, "uri_too_long");
    assertEquals("application/json", uri.headers().firstValue("Content-Type").orElseThrow());
    HttpResponse<String> header = server.http.send(HttpRequest.newBuilder(URI.create(server.base() + "/v1/models"))
        .header("X-Big", "y".repeat(20_000)).build(), HttpResponse.BodyHandlers.ofString());
    EmbeddingsRouteTest.assertError(header, 431, "headers_too_large");
    assertEquals("application/json", header.headers().firstValue("Content-Type").orElseThrow());
    String metrics = server.get("/metrics").body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("exitflow_http_errors_total{") && l.contains("code=\"uri_too_long\"")
        && l.contains("route=\"unparsed\"") && l.contains("status=\"414\"")), metrics);
  }

  @Test
  void aBodyShorterThanItsLengthGets400WithinTheReadTimeout() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.server.port())) {
      socket.setSoTimeout(15_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          + "Content-Length: 100\r\n\r\n{\"input\": \"only part").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long t0 = System.nanoTime();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String status = in.readLine();
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertTrue(status.startsWith("HTTP/1.1 400"), status);
      assertTrue(seconds < 10, seconds + " s");
      String line;
      int length = 0;
      while (!(line = in.readLine()).isEmpty()) {
        if (line.toLowerCase().startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      char[] body = new char[length];
      int read = 0;
      while (read < length) {
        read += in.read(body, read, length - read);
      }
      JsonNode error = HttpJson.parse(new String(body)).get("error");
      assertEquals("incomplete_body", error.get("code").asText());
    }
  }

  @Test
  void unknownRoutesAreJson404() throws Exception {
    EmbeddingsRouteTest.assertError(server.get("/v1/nowhere"), 404, "not_found");
    assertEquals("not_found_error", HttpJson.parse(server.get("/v2").body()).get("error").get("type").asText());
  }
}
