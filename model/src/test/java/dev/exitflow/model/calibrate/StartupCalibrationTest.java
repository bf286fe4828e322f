package dev.exitflow.model.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.plan.Plan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A served model without adapters is calibrated once at start, or left alone with a warning when that is off. */
class StartupCalibrationTest {
  @TempDir Path cache;

  @Test
  void calibratesOnceWhenAdaptersAreMissingAndOnlyWhenAllowed() throws Exception {
    Path corpus = Files.write(cache.resolve("corpus.txt"),
        Corpus.read(TestModels.sts("sts-train.csv")).subList(0, 300));
    Config base = ConfigFactory.parseString("exitflow.model.cache-dir = \"" + cache + "\"\n"
        + "exitflow.model.adapters.corpus = \"" + corpus + "\"").withFallback(ConfigFactory.load());
    ModelSettings settings = ModelSettings.create(base);
    ModelDescriptor model = new ModelRepository(settings).resolve("all-minilm-l6-v2");
    CompiledModel compiled = new StageCache(settings.cacheDir()).load(model);
    Plan plan = Plan.of(model.name());

    CalibrationSettings off = CalibrationSettings.create(
        ConfigFactory.parseString("exitflow.model.adapters.calibrate-on-start = false").withFallback(base));
    assertFalse(StartupCalibration.ensure(model, settings, plan, compiled, off));
    assertTrue(ExitAdapters.load(compiled, List.of(2, 4)).isEmpty(), "off: nothing fitted");

    CalibrationSettings on = CalibrationSettings.create(
        ConfigFactory.parseString("exitflow.model.adapters.calibrate-on-start = true").withFallback(base));
    assertTrue(StartupCalibration.ensure(model, settings, plan, compiled, on));
    ExitAdapters saved = ExitAdapters.load(compiled, List.of(2, 4));
    assertEquals(List.of(2, 4), List.copyOf(saved.byLayer().keySet()));
    assertEquals(300 - 300 / 20, saved.forLayer(2).corpusSentences(), "every 20th sentence held out");
    assertTrue(saved.forLayer(2).fidelity() > 0.5 && saved.forLayer(2).fidelity() < 1);
    assertFalse(StartupCalibration.ensure(model, settings, plan, compiled, on), "saved: not fitted again");
    assertFalse(StartupCalibration.ensure(model, settings.withAdapters(false), plan, compiled, on),
        "adapters disabled: nothing to fit");
  }
}
