package dev.exitflow.loadtests.gatling;

import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.feed;
import static io.gatling.javaapi.core.CoreDsl.listFeeder;
import static io.gatling.javaapi.core.CoreDsl.regex;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.time.Duration;

/**
 * Closed-loop load on the WebSocket {@code /v1/stream}: each user opens one connection and sends
 * one deep request after another on it, waiting for each result frame.
 */
public class StreamSimulation extends Simulation {
  private final Duration length = Duration.ofSeconds(Integer.getInteger("exitflow.seconds", 30));

  private final HttpProtocolBuilder protocol = http.wsBaseUrl(System.getProperty("exitflow.url").replace("http", "ws"));

  private final ScenarioBuilder scenario = scenario("stream")
      .exec(ws("connect").connect("/v1/stream"))
      .during(length).on(
          feed(listFeeder(Sentences.feed()).circular())
              .exec(ws("frame").sendText("{\"id\": \"#{text}\", \"input\": \"#{text}\"}")
                  .await(30).on(ws.checkTextMessage("result").check(regex("\"exit_layer\":6")))))
      .exec(ws("close").close());

  {
    setUp(scenario.injectClosed(constantConcurrentUsers(Integer.getInteger("exitflow.users", 128)).during(length)))
        .protocols(protocol)
        .maxDuration(length.plusSeconds(10));
  }
}
