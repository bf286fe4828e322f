package dev.exitflow.actors;

import static dev.exitflow.actors.EncoderRuntimeTest.await;
import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.compile.Drop;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runtime serving a plan: the same results as the engine running that plan, through batching and re-batching. */
class PlannedRuntimeTest {
  @TempDir Path dir;

  private static Config config(Path plan) {
    return ConfigFactory.parseString("exitflow.model.plan = \"" + plan.toString().replace("\\", "/") + "\"")
        .withFallback(ConfigFactory.load());
  }

  @Test
  void servesAPlanWithPruningAndADroppedBlockAsTheEngineRunsIt() throws Exception {
    Plan plan = new Plan("served", "all-minilm-l6-v2", List.of(2, 6), false, List.of(0.5),
        List.of(new Drop(5, Drop.Block.ATTENTION)));
    Path file = dir.resolve("served.json");
    plan.write(file);
    Config config = config(file);
    ModelDescriptor model = new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2");
    ActorTestKit kit = ActorTestKit.create(config);
    try {
      EncoderRuntime runtime = EncoderRuntime.start(kit.system(), model, config);
      await(runtime.ready());
      assertEquals(List.of(2, 6), runtime.exitLayers(), "the plan's exits");
      List<EmbeddingResult> results = await(runtime.submitAll(EncoderRuntimeTest.SENTENCES.stream()
          .map(s -> EmbeddingRequest.of(s, ExitPolicy.Deep.INSTANCE)).toList()));
      try (StagedEncoder engine = StagedEncoder.open(model, ModelSettings.create(config), plan)) {
        var expected = engine.embed(EncoderRuntimeTest.SENTENCES, "deep", null);
        for (int i = 0; i < results.size(); i++) {
          assertEquals(6, results.get(i).exitLayer());
          assertTrue(cosine(expected.get(i).vector(), results.get(i).embedding()) > 0.9999, "sentence " + i);
        }
      }
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aPlanForAnotherModelIsRefusedByName() throws Exception {
    Path file = dir.resolve("int8.json");
    Files.writeString(file, "{\"name\": \"int8\", \"model\": \"all-minilm-l6-v2-q\"}");
    Config config = config(file);
    ModelDescriptor fp32 = new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2");
    ActorTestKit kit = ActorTestKit.create(config);
    try {
      InvalidInputException e = assertThrows(InvalidInputException.class,
          () -> EncoderRuntime.start(kit.system(), fp32, config));
      assertEquals("plan_model_mismatch", e.code());
      assertTrue(e.getMessage().contains("all-minilm-l6-v2-q"), e.getMessage());
    } finally {
      kit.shutdownTestKit();
    }
  }
}
