package dev.exitflow.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.streams.kafka.EmbeddedKafka;
import dev.exitflow.streams.kafka.KafkaPipeline;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** produce and consume by hand, around a running pipeline on an embedded broker. */
class KafkaCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static List<String> run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    assertEquals(0, cli.execute(args), err.toString());
    return out.toString().lines().toList();
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void producedTextsComeBackAsResults() throws Exception {
    Config config = ConfigFactory.parseString("exitflow.kafka.embedded.port = 0").withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "kafka-commands", config);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(config)) {
      EncoderRuntime runtime = EncoderRuntime.start(system,
          new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2"), config);
      Config withBroker = ConfigFactory.parseString("exitflow.kafka.bootstrap-servers = \"" + kafka.bootstrapServers() + "\"")
          .withFallback(config);
      KafkaPipeline pipeline = KafkaPipeline.start(system, runtime, withBroker);
      String servers = "--bootstrap-servers=" + kafka.bootstrapServers();

      List<String> sent = run("produce", servers, "--key", "k1", "--exit", "shallow", "--id", "hello",
          "A man is playing a flute.", "A cat sits on the mat.");
      assertEquals(2, sent.size());
      assertEquals("hello", JSON.readTree(sent.get(0)).get("id").asText());

      List<String> got = run("consume", servers, "--count", "2", "--idle-seconds", "60");
      assertEquals(2, got.size());
      JsonNode first = JSON.readTree(got.get(0));
      assertEquals("k1", first.get("key").asText());
      assertEquals("2", first.get("headers").get("exitflow-exit-layer").asText());
      assertEquals("hello", first.get("value").get("id").asText());
      assertEquals("hello-2", JSON.readTree(got.get(1)).get("value").get("id").asText());

      pipeline.drainAndShutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
      runtime.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      system.terminate();
    }
  }
}
