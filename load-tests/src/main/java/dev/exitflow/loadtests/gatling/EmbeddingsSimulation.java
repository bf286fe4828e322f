package dev.exitflow.loadtests.gatling;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.feed;
import static io.gatling.javaapi.core.CoreDsl.listFeeder;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.time.Duration;

/**
 * Closed-loop load on {@code POST /v1/embeddings}: a fixed number of users, each sending one deep
 * request after another, like the runtime's in-process saturation benchmark. Parameters come from
 * system properties set by {@code load-tests/run http}.
 */
public class EmbeddingsSimulation extends Simulation {
  private final HttpProtocolBuilder protocol = http.baseUrl(System.getProperty("exitflow.url"))
      .contentTypeHeader("application/json").shareConnections();

  private final Duration length = Duration.ofSeconds(Integer.getInteger("exitflow.seconds", 30));

  private final ScenarioBuilder scenario = scenario("embeddings")
      .during(length).on(
          feed(listFeeder(Sentences.feed()).circular())
              .exec(http("POST /v1/embeddings").post("/v1/embeddings")
                  .body(StringBody("{\"model\": \"#{model}\", \"input\": \"#{text}\"}"))
                  .check(status().is(200))));

  {
    setUp(scenario.injectClosed(constantConcurrentUsers(Integer.getInteger("exitflow.users", 128)).during(length)))
        .protocols(protocol)
        .maxDuration(length.plusSeconds(10));
  }
}
