package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.calibrate.AdapterCalibrator;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StageOpener;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reserve exit at layer 1 before all-minilm-l6-v2's exits 2, 4 and 6: cut as a stage of its own
 * and calibrated, it serves an {@code auto} request whose deadline cannot wait for exit 2, and
 * nothing else: not {@code shallow}, not previews, not a request that names it or whose quality
 * floor is above it, not a request without a deadline.
 */
class ReserveExitTest {
  @TempDir Path cache;

  @Test
  void onlyADeadlineLeavesAtTheReserveExit() throws Exception {
    Config config = ConfigFactory.parseString("exitflow.model.cache-dir = \"" + cache + "\"\n"
        + "exitflow.actors.reserve-exit-layer = 1").withFallback(ConfigFactory.load());
    ModelSettings settings = ModelSettings.create(config);
    ModelDescriptor model = new ModelRepository(settings).resolve("all-minilm-l6-v2");
    Plan plan = EncoderRuntime.servedPlan(model, config);
    assertEquals(List.of(1, 2, 4, 6), plan.apply(model).exitLayers());
    // Adapters for every shallow exit, the reserve's too, fitted on a small corpus (the runtime would fit them at start).
    List<String> corpus = new ArrayList<>(StsDataset.read(StsFiles.locate("sts-train.csv")).sentences().keySet())
        .subList(0, 600);
    try (StagedEncoder calibration = StagedEncoder.openForCalibration(model, settings, plan)) {
      AdapterCalibrator.calibrate(calibration, corpus, 0.01, new AdapterCalibrator.Listener() {})
          .save(StageOpener.compile(plan.apply(model), settings, plan));
    }

    ActorTestKit kit = ActorTestKit.create(config);
    try {
      EncoderRuntime runtime = EncoderRuntime.start(kit.system(), model, config);
      runtime.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(List.of(2, 4, 6), runtime.exitLayers(), "the exits a request may name");
      assertEquals(3, runtime.exits().size());
      ExitQuality reserve = runtime.reserveExit();
      assertEquals(1, reserve.layer());
      double f1 = reserve.fidelity();
      double f2 = runtime.exits().get(0).fidelity();
      assertTrue(f1 > 0.5 && f1 < f2, "the reserve imitates the deep exit less well than exit 2: " + f1 + ", " + f2);
      String text = EncoderRuntimeTest.SENTENCES.get(0);

      EmbeddingResult tight = result(runtime, EmbeddingRequest.of(text, ExitPolicy.Auto.INSTANCE).withDeadlineMs(1));
      assertEquals(1, tight.exitLayer(), "a deadline no exit can meet leaves at the reserve");
      assertEquals(ExitReason.DEADLINE, tight.reason());
      assertEquals(f1, tight.fidelity());
      EmbeddingResult floored = result(runtime, EmbeddingRequest.of(text, ExitPolicy.Auto.INSTANCE).withDeadlineMs(1)
          .withMinFidelity((f1 + f2) / 2));
      assertEquals(2, floored.exitLayer(), "not below the request's quality floor");
      assertEquals(6, result(runtime, EmbeddingRequest.of(text, ExitPolicy.Auto.INSTANCE)).exitLayer(),
          "without a deadline, auto on an idle runtime goes deep");
      assertEquals(2, result(runtime, EmbeddingRequest.of(text, ExitPolicy.Shallow.INSTANCE)).exitLayer());
      List<EmbeddingResult> previews = new ArrayList<>();
      runtime.submitWithPreview(EmbeddingRequest.of(text, ExitPolicy.Deep.INSTANCE), previews::add)
          .toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(2, previews.get(0).exitLayer(), "the preview comes from the first exit");
      InvalidInputException named = assertThrows(InvalidInputException.class,
          () -> runtime.validate(EmbeddingRequest.of(text, new ExitPolicy.Exact(1))));
      assertEquals("unknown_exit", named.code());
      assertEquals(0, runtime.stats().toCompletableFuture().get().failed());
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static EmbeddingResult result(EncoderRuntime runtime, EmbeddingRequest request) throws Exception {
    return runtime.submit(request).toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
