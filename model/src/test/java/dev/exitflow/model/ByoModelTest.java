package dev.exitflow.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.calibrate.AdapterCalibrator;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsEvaluator;
import dev.exitflow.model.eval.StsReport;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bring your own model, as a user does: a directory with e5-small-v2's int8 export (12 layers,
 * mean pooling; from its Maven artifact) and an exitflow-model.json. Compile at other exits,
 * evaluate, calibrate, and be told clearly what is wrong with a bad descriptor. Its deep exit's
 * equivalence with the unmodified model is {@code Int8AgreementTest}'s.
 */
class ByoModelTest {
  private static final Path E5 = Path.of("target/byo/e5");

  @TempDir Path tmp;

  private final ModelRepository repository = new ModelRepository(TestModels.settings());

  private ModelDescriptor e5(String descriptor) throws Exception {
    return repository.resolve(TestModels.e5Directory(E5, descriptor).toString());
  }

  @Test
  void compilesAtAnyExitsAndEvaluatesEveryExit() throws Exception {
    ModelDescriptor model = e5(TestModels.E5);
    assertEquals(List.of(4, 8, 12), model.exitLayers());
    assertEquals(List.of(6, 12), new StageCache(TestModels.settings().cacheDir())
        .load(model.withExitLayers(List.of(6, 12))).stages().stream().map(s -> s.lastLayer()).toList());
    Path dev = Files.write(tmp.resolve("dev.csv"), Files.readAllLines(TestModels.sts("sts-dev.csv")).subList(0, 201));
    try (StagedEncoder engine = StagedEncoder.open(model, TestModels.settings())) {
      StsReport report = StsEvaluator.evaluate(engine, StsDataset.read(dev), n -> {});
      assertEquals(List.of(4, 8, 12), report.exits().stream().map(StsReport.Exit::layer).toList());
      assertEquals("int8", report.precision());
      double deep = report.exits().get(2).spearman();
      double shallow = report.exits().get(0).spearman();
      assertTrue(deep > 0.75, "e5-small-v2 deep Spearman on 200 sts-dev pairs: " + deep);
      assertTrue(shallow < deep, "exit 4 pooled plainly is below the deep exit: " + shallow + " vs " + deep);
    }
  }

  @Test
  void calibratesAdaptersThatBringShallowExitsCloseToTheDeepOne() throws Exception {
    ModelDescriptor model = e5(TestModels.E5);
    ModelSettings settings = ModelSettings.create(ConfigFactory.parseString(
        "exitflow.model.cache-dir = \"" + tmp.resolve("cache") + "\"").withFallback(ConfigFactory.load()));
    List<String> corpus = Corpus.read(TestModels.sts("sts-train.csv")).subList(0, 400);
    try (StagedEncoder encoder = StagedEncoder.openForCalibration(model, settings, Plan.of(model.name()))) {
      ExitAdapters adapters = AdapterCalibrator.calibrate(encoder, corpus, settings.adapterPenalty(), true,
          new AdapterCalibrator.Listener() {});
      assertEquals(List.of(4, 8), List.copyOf(adapters.byLayer().keySet()));
      for (ExitAdapter a : adapters.byLayer().values()) {
        assertTrue(a.fidelity() > 0.8 && a.fidelity() < 1, "exit " + a.exitLayer() + " fidelity " + a.fidelity());
      }
      assertTrue(adapters.forLayer(8).fidelity() > adapters.forLayer(4).fidelity(), "deeper is closer");
      adapters.save(encoder.compiled());
    }
    try (StagedEncoder engine = StagedEncoder.open(model, settings)) {
      assertEquals(2, engine.adapters().byLayer().size(), "saved adapters are used");
      assertEquals(8, engine.embed(List.of("a test"), "8", null).get(0).exitLayer());
    }
  }

  @Test
  void badDescriptorsAreRefusedSayingWhatIsWrong() throws Exception {
    ModelFormatException lastExit = assertThrows(ModelFormatException.class,
        () -> StagedEncoder.open(e5(TestModels.E5).withExitLayers(List.of(4, 11)), TestModels.settings()));
    assertTrue(lastExit.getMessage().contains("has 12 layers but its last exit is 11"), lastExit.getMessage());

    ModelFormatException pooling = assertThrows(ModelFormatException.class,
        () -> e5(TestModels.E5.replace("\"mean\"", "\"max\"")));
    assertTrue(pooling.getMessage().contains("pooling 'max' is not 'mean' or 'cls'"), pooling.getMessage());

    ModelFormatException exits = assertThrows(ModelFormatException.class,
        () -> e5(TestModels.E5.replace("[4, 8, 12]", "\"4,8,12\"")));
    assertTrue(exits.getMessage().contains("'exit_layers' must be an array of integers"), exits.getMessage());

    ModelFormatException unknown = assertThrows(ModelFormatException.class,
        () -> e5(TestModels.E5.replace("\"pooling\"", "\"pooling_mode\"")));
    assertTrue(unknown.getMessage().contains("unknown field [pooling_mode]"), unknown.getMessage());
  }
}
