package dev.exitflow.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server with a reserve exit at layer 1, calibrated at start (on 600 of STS-B's training
 * sentences, to keep the test short): `GET /v1/models` lists it apart from the exits a request may name, a request
 * naming it is refused as an unknown exit, and an `auto` request whose deadline no exit can meet
 * leaves there, saying why.
 */
class ReserveExitRouteTest {
  @TempDir Path cache;

  @Test
  void theReserveExitIsListedApartAndServesOnlyDeadlines() throws Exception {
    Path corpus = cache.resolve("corpus.txt");
    Files.write(corpus, new ArrayList<>(StsDataset.read(StsFiles.locate("sts-train.csv")).sentences().keySet())
        .subList(0, 600));
    try (RunningServer server = new RunningServer("exitflow.model.cache-dir = \"" + cache + "\"\n"
        + "exitflow.actors.reserve-exit-layer = 1\n"
        + "exitflow.model.adapters.calibrate-on-start = true\n"
        + "exitflow.model.adapters.corpus = \"" + corpus + "\"")) {
      JsonNode model = HttpJson.parse(server.get("/v1/models/all-minilm-l6-v2").body());
      assertEquals("[2,4,6]", model.get("exit_layers").toString());
      assertEquals(3, model.get("exits").size());
      JsonNode reserve = model.get("reserve_exit");
      assertEquals(1, reserve.get("layer").asInt(), model.toString());
      assertTrue(reserve.get("fidelity").asDouble() < model.get("exits").get(0).get("fidelity").asDouble());

      HttpResponse<String> named = server.post("/v1/embed", "{\"input\": \"hello there\", \"exit\": \"1\"}");
      assertEquals(422, named.statusCode(), named.body());
      assertEquals("unknown_exit", HttpJson.parse(named.body()).path("error").path("code").asText());

      HttpResponse<String> tight = server.post("/v1/embed",
          "{\"input\": \"hello there\", \"exit\": \"auto\", \"deadline_ms\": 1}");
      assertEquals(200, tight.statusCode(), tight.body());
      JsonNode item = HttpJson.parse(tight.body()).get("results").get(0);
      assertEquals(1, item.get("exit_layer").asInt());
      assertEquals("deadline", item.get("exit_reason").asText());
    }
  }
}
