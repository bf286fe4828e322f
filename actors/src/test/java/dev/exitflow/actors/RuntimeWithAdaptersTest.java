package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import dev.exitflow.model.runtime.Vectors;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.calibrate.AdapterCalibrator;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.runtime.Embedding;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With calibrated adapters saved, the runtime's shallow and auto exits use them (as the engine's
 * do), deep requests still reproduce the engine, and a deep request batched with shallow ones at
 * every stage gets the right answer although it skipped feature pooling.
 */
class RuntimeWithAdaptersTest {
  @TempDir Path cache;

  @Test
  void shallowExitsUseTheAdaptersAndDeepRequestsStayExact() throws Exception {
    // The engine's plan, without the reserve exit (ReserveExitTest covers the runtime with it).
    Config config = ConfigFactory.parseString("exitflow.model.cache-dir = \"" + cache + "\"\n"
        + "exitflow.actors.reserve-exit-layer = 0").withFallback(ConfigFactory.load());
    ModelSettings settings = ModelSettings.create(config);
    ModelDescriptor model = new ModelRepository(settings).resolve("all-minilm-l6-v2");
    List<String> corpus = new ArrayList<>(StsDataset.read(StsFiles.locate("sts-train.csv")).sentences().keySet())
        .subList(0, 600);
    try (StagedEncoder calibration = StagedEncoder.openForCalibration(model, settings)) {
      AdapterCalibrator.calibrate(calibration, corpus, 0.01, new AdapterCalibrator.Listener() {})
          .save(new StageCache(settings.cacheDir()).load(model));
    }
    List<String> texts = EncoderRuntimeTest.SENTENCES;
    List<Embedding> engineShallow;
    List<Embedding> engineDeep;
    try (StagedEncoder engine = StagedEncoder.open(model, settings)) {
      assertTrue(engine.head(0).adapter() != null, "adapters were saved and found");
      engineShallow = engine.embed(texts, "shallow", null);
      engineDeep = engine.embed(texts, "deep", null);
    }

    ActorTestKit kit = ActorTestKit.create(config);
    try {
      EncoderRuntime runtime = EncoderRuntime.start(kit.system(), model, config);
      runtime.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      List<CompletableFuture<EmbeddingResult>> shallow = new ArrayList<>();
      List<CompletableFuture<EmbeddingResult>> deep = new ArrayList<>();
      for (String t : texts) { // shallow and deep requests share batches
        shallow.add(runtime.submit(EmbeddingRequest.of(t, ExitPolicy.Shallow.INSTANCE)).toCompletableFuture());
        deep.add(runtime.submit(EmbeddingRequest.of(t, ExitPolicy.Deep.INSTANCE)).toCompletableFuture());
      }
      for (int i = 0; i < texts.size(); i++) {
        EmbeddingResult s = shallow.get(i).get(60, TimeUnit.SECONDS);
        EmbeddingResult d = deep.get(i).get(60, TimeUnit.SECONDS);
        assertEquals(2, s.exitLayer());
        assertTrue(Vectors.cosine(engineShallow.get(i).vector(), s.embedding()) > 0.9999, "adapted shallow " + i);
        assertTrue(Vectors.cosine(engineDeep.get(i).vector(), d.embedding()) > 0.9999, "deep " + i);
      }
      List<EmbeddingResult> previews = new ArrayList<>();
      EmbeddingResult last = runtime.submitWithPreview(EmbeddingRequest.of(texts.get(0), ExitPolicy.Deep.INSTANCE),
          previews::add).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(6, last.exitLayer());
      assertFalse(previews.isEmpty());
      assertTrue(Vectors.cosine(engineShallow.get(0).vector(), previews.get(0).embedding()) > 0.9999,
          "the preview is the adapted shallow embedding");
      // Quality per exit, and the floor: auto may take the calibrated exit 2, but not below min_fidelity.
      List<ExitQuality> exits = runtime.exits();
      double f2 = exits.get(0).fidelity();
      double f4 = exits.get(1).fidelity();
      assertTrue(f2 > 0.5 && f2 < f4 && f4 < 1, "held-out fidelity rises with depth: " + f2 + ", " + f4);
      assertEquals(1.0, exits.get(2).fidelity());
      EmbeddingResult tight = runtime.submit(EmbeddingRequest.of(texts.get(1), ExitPolicy.Auto.INSTANCE)
          .withDeadlineMs(1)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(2, tight.exitLayer(), "a calibrated exit serves auto");
      assertEquals(f2, tight.fidelity());
      EmbeddingResult floored = runtime.submit(EmbeddingRequest.of(texts.get(1), ExitPolicy.Auto.INSTANCE)
          .withDeadlineMs(1).withMinFidelity((f2 + f4) / 2)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(4, floored.exitLayer(), "past its deadline rather than below its floor");
      assertTrue(floored.fidelity() >= (f2 + f4) / 2);
      EmbeddingResult shallowFloored = runtime.submit(EmbeddingRequest.of(texts.get(1), ExitPolicy.Shallow.INSTANCE)
          .withMinFidelity(Math.nextUp(f4))).toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(6, shallowFloored.exitLayer());
      assertEquals(0, runtime.stats().toCompletableFuture().get().failed());
    } finally {
      kit.shutdownTestKit();
    }
    assertFalse(ExitAdapters.load(new StageCache(settings.cacheDir()).load(model), List.of(2, 4)).isEmpty());
  }
}
