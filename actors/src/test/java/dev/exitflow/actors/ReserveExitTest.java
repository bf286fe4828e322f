package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import dev.exitflow.model.runtime.StageSession;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reserve exit at layer 1 before all-minilm-l6-v2's exits 2, 4 and 6: cut as a stage of its own
 * and calibrated, it serves an {@code auto} request whose deadline cannot wait for exit 2, and
 * nothing else: not {@code shallow}, not previews, not a request that names it or whose quality
 * floor is above it, not a request without a deadline. A batch with nobody at risk runs through
 * layer 1's stage and on to exit 2 at one worker, with the same result as in two runs.
 */
class ReserveExitTest {
  @TempDir static Path cache;
  static Config config;
  static ModelDescriptor model;

  @BeforeAll
  static void calibrate() throws Exception {
    config = ConfigFactory.parseString("exitflow.model.cache-dir = \"" + cache + "\"\n"
        + "exitflow.actors.reserve-exit-layer = 1").withFallback(ConfigFactory.load());
    ModelSettings settings = ModelSettings.create(config);
    model = new ModelRepository(settings).resolve("all-minilm-l6-v2");
    Plan plan = EncoderRuntime.servedPlan(model, config);
    assertEquals(List.of(1, 2, 4, 6), plan.apply(model).exitLayers());
    // Adapters for every shallow exit, the reserve's too, fitted on a small corpus (the runtime would fit them at start).
    List<String> corpus = new ArrayList<>(StsDataset.read(StsFiles.locate("sts-train.csv")).sentences().keySet())
        .subList(0, 600);
    try (StagedEncoder calibration = StagedEncoder.openForCalibration(model, settings, plan)) {
      AdapterCalibrator.calibrate(calibration, corpus, 0.01, new AdapterCalibrator.Listener() {})
          .save(StageOpener.compile(plan.apply(model), settings, plan));
    }
  }

  @Test
  void onlyADeadlineLeavesAtTheReserveExit() throws Exception {
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
      // One request that must leave at the reserve and one going deep, admitted together: their batch
      // stops at layer 1 for the first, and the second goes on from there through layer 1's stage.
      List<EmbeddingResult> pair = runtime.submitAll(List.of(
          EmbeddingRequest.of(text, ExitPolicy.Auto.INSTANCE).withDeadlineMs(1),
          EmbeddingRequest.of(text, ExitPolicy.Deep.INSTANCE))).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(1, pair.get(0).exitLayer());
      assertEquals(6, pair.get(1).exitLayer());
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

  /**
   * A worker of the reserve's stage holding layer 1's stage too: a run through gives exit 2's
   * embeddings and the states after layer 1 as the two stages run apart do, says so, and times its
   * first stage apart; a worker without the next stage runs its own and says that.
   */
  @Test
  void aRunThroughEqualsTheTwoStagesApart() throws Exception {
    ServedModel served = ServedModel.load(model, config);
    List<dev.exitflow.model.runtime.ExitHead> heads = served.heads();
    ActorTestKit kit = ActorTestKit.create(config);
    try {
      String dispatcher = RuntimeSettings.create(config).inferenceDispatcher();
      ComputeSlots slots = ComputeSlots.of(2);
      TestProbe<StageWorker.Outcome> probe = kit.createTestProbe();
      ActorRef<StageWorker.Command> both = kit.spawn(StageWorker.create(0, new StageWorker.Sessions(
          () -> served.openStage(0, served.settings()), heads.get(0), () -> served.openStage(1, served.settings()),
          heads.get(1)), dispatcher, slots, probe.ref()));
      ActorRef<StageWorker.Command> first = kit.spawn(StageWorker.create(0, StageWorker.Sessions.own(
          () -> served.openStage(0, served.settings()), heads.get(0)), dispatcher, slots, probe.ref()));
      ActorRef<StageWorker.Command> second = kit.spawn(StageWorker.create(1, StageWorker.Sessions.own(
          () -> served.openStage(1, served.settings()), heads.get(1)), dispatcher, slots, probe.ref()));
      for (int i = 0; i < 3; i++) {
        probe.expectMessageClass(StageWorker.Ready.class, Duration.ofSeconds(60));
      }
      List<TokenizedText> tokens = new TextTokenizer(served.model()).tokenize(EncoderRuntimeTest.SENTENCES.subList(0, 4));

      both.tell(new StageWorker.Run(1, tokens, null, true, true, true, true, probe.ref()));
      StageWorker.BatchDone through = probe.expectMessageClass(StageWorker.BatchDone.class, Duration.ofSeconds(60));
      assertTrue(through.through());
      assertEquals(1, through.lastStage());
      assertTrue(through.firstStageNanos() > 0 && through.firstStageNanos() < through.computeNanos());

      first.tell(new StageWorker.Run(2, tokens, null, true, false, true, true, probe.ref())); // cannot run through
      StageWorker.BatchDone own = probe.expectMessageClass(StageWorker.BatchDone.class, Duration.ofSeconds(60));
      assertEquals(0, own.lastStage(), "a worker without the next stage runs its own");
      assertEquals(own.computeNanos(), own.firstStageNanos());
      second.tell(new StageWorker.Run(3, tokens, own.states(), true, true, true, probe.ref()));
      StageWorker.BatchDone apart = probe.expectMessageClass(StageWorker.BatchDone.class, Duration.ofSeconds(60));

      for (int i = 0; i < tokens.size(); i++) {
        assertArrayEquals(apart.embeddings().get(i), through.embeddings().get(i), 1e-4f, "exit 2 embedding " + i);
        assertArrayEquals(apart.states().get(i).values(), through.states().get(i).values(), 1e-4f, "state " + i);
      }
    } finally {
      kit.shutdownTestKit();
      for (dev.exitflow.model.runtime.ExitHead h : heads) {
        h.close();
      }
    }
  }
}
