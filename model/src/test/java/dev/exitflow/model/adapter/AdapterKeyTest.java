package dev.exitflow.model.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.Pooling;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.calibrate.CalibrationSettings;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.calibrate.StartupCalibration;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters are keyed by everything that shapes them: the same ONNX file described with another
 * pooling or token types finds none (and says why), and adapters fitted on another corpus than
 * configured are refitted at start, or refused when that is off; never silently reused.
 */
class AdapterKeyTest {
  @TempDir Path cache;

  private static ModelDescriptor described(Pooling pooling, Boolean tokenTypes) {
    ModelDescriptor b = TestModels.builtin("all-minilm-l6-v2");
    return new ModelDescriptor("my-minilm", b.onnxFile(), b.tokenizerFile(), pooling, 128, List.of(2, 4, 6),
        tokenTypes, null);
  }

  @Test
  void anotherPoolingOrTokenTypesNeverReusesAdapters() throws Exception {
    List<String> sentences = Corpus.read(TestModels.sts("sts-train.csv"));
    Path corpus = Files.write(cache.resolve("corpus.txt"), sentences.subList(0, 300));
    Path other = Files.write(cache.resolve("other.txt"), sentences.subList(300, 600));
    Config base = ConfigFactory.parseString("exitflow.model.cache-dir = \"" + cache + "\"\n"
        + "exitflow.model.adapters.corpus = \"" + corpus + "\"").withFallback(ConfigFactory.load());
    ModelSettings settings = ModelSettings.create(base);
    CalibrationSettings on = calibration("calibrate-on-start = true", base);
    StageCache stages = new StageCache(settings.cacheDir());

    ModelDescriptor cls = described(Pooling.CLS, null);
    CompiledModel clsStages = stages.load(cls);
    assertTrue(StartupCalibration.ensure(cls, settings, Plan.of(cls.name()), clsStages, on));
    assertEquals(2, ExitAdapters.load(clsStages, List.of(2, 4)).byLayer().size());

    ModelDescriptor mean = described(Pooling.MEAN, null);
    CompiledModel meanStages = stages.load(mean);
    assertEquals(clsStages.directory(), meanStages.directory(), "pooling does not shape the stage graphs");
    assertTrue(ExitAdapters.load(meanStages, List.of(2, 4)).isEmpty(), "the CLS-fitted adapters are not found");
    assertEquals(List.of("pooling cls (now mean)"), ExitAdapters.fittedOtherwise(meanStages));
    try (StagedEncoder engine = StagedEncoder.open(mean, settings)) {
      assertTrue(engine.adapters().isEmpty());
      assertEquals(null, engine.head(0).adapter(), "exit 2 pools plainly rather than apply CLS-fitted weights");
    }
    assertTrue(StartupCalibration.ensure(mean, settings, Plan.of(mean.name()), meanStages, on), "refitted");
    float meanFidelity = (float) ExitAdapters.load(meanStages, List.of(2)).forLayer(2).fidelity();
    float clsFidelity = (float) ExitAdapters.load(clsStages, List.of(2)).forLayer(2).fidelity();
    assertTrue(meanFidelity != clsFidelity, "two fits, each kept: " + meanFidelity + " vs " + clsFidelity);

    ModelDescriptor zeros = described(Pooling.MEAN, false);
    assertTrue(ExitAdapters.load(stages.load(zeros), List.of(2, 4)).isEmpty(), "token types are in the key too");

    // Same descriptor, another corpus configured: refused when start-up calibration is off, else refitted.
    Config otherCorpus = ConfigFactory.parseString("exitflow.model.adapters.corpus = \"" + other + "\"")
        .withFallback(base);
    ModelFormatException stale = assertThrows(ModelFormatException.class, () -> StartupCalibration.ensure(mean,
        settings, Plan.of(mean.name()), meanStages, calibration("calibrate-on-start = false", otherCorpus)));
    assertEquals("stale_adapters", stale.code());
    assertTrue(stale.getMessage().contains("corpus " + corpus + " (now " + other + ")"), stale.getMessage());
    CalibrationSettings otherOn = calibration("calibrate-on-start = true", otherCorpus);
    assertTrue(StartupCalibration.ensure(mean, settings, Plan.of(mean.name()), meanStages, otherOn));
    assertFalse(StartupCalibration.ensure(mean, settings, Plan.of(mean.name()), meanStages, otherOn),
        "fitted as configured now: kept");
    assertEquals(other.toString(), ExitAdapters.fit(meanStages).corpus());

    // Timed by calibrate: an exit no faster than the next is flagged on its head, for the runtime's auto.
    ExitAdapters.saveFit(meanStages, ExitAdapters.fit(meanStages).withSpeed(Map.of(
        2, new AdapterFit.ExitSpeed(900, 1000), 4, new AdapterFit.ExitSpeed(1000, 700))));
    try (StagedEncoder engine = StagedEncoder.open(mean, settings)) {
      assertTrue(engine.head(0).notFasterThanNext(), "exit 2 at 0.9x exit 4");
      assertFalse(engine.head(1).notFasterThanNext(), "exit 4 at 1.4x the deep exit");
      assertEquals(java.util.Set.of(2), engine.adapters().notFaster());
    }
  }

  private static CalibrationSettings calibration(String setting, Config base) {
    return CalibrationSettings.create(
        ConfigFactory.parseString("exitflow.model.adapters." + setting).withFallback(base));
  }
}
