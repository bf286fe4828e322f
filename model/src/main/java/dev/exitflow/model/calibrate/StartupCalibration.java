package dev.exitflow.model.calibrate;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.ModelFormatException;
import dev.exitflow.model.adapter.AdapterFit;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a served model calibrated out of the box: when its shallow exits have no saved adapters
 * for this descriptor, or adapters fitted on another corpus or with other settings than configured,
 * fits them on the configured corpus before the model serves (once per cache directory). When that
 * is switched off, missing adapters are warned about and mismatched ones refused, saying how to
 * calibrate.
 * Fitting at start rather than shipping adapter files keeps 28 MB of floats out of the repository
 * and makes the adapters reproducible by construction; it costs about 20 s once.
 */
public final class StartupCalibration {
  private static final Logger LOG = LoggerFactory.getLogger(StartupCalibration.class);

  private StartupCalibration() {}

  /**
   * {@code model} is the model before {@code plan} is applied; {@code compiled} its compiled
   * stages. Returns whether it calibrated.
   */
  public static boolean ensure(ModelDescriptor model, ModelSettings settings, Plan plan, CompiledModel compiled,
      CalibrationSettings calibration) {
    if (!settings.adaptersEnabled() || !plan.useAdapters()) {
      return false;
    }
    List<Integer> layers = plan.apply(model).exitLayers();
    List<Integer> shallow = layers.subList(0, layers.size() - 1);
    String why;
    if (ExitAdapters.load(compiled, shallow).byLayer().keySet().containsAll(shallow)) {
      AdapterFit saved = ExitAdapters.fit(compiled);
      List<String> differences = saved == null ? List.of() : saved.differences(wanted(model, settings, calibration));
      if (differences.isEmpty()) {
        return false; // fitted as configured (or saved without a record of how, by code that chose it)
      }
      why = "adapters at exits " + shallow + " fitted with " + String.join(", ", differences);
      if (!calibration.calibrateOnStart()) {
        throw new ModelFormatException("stale_adapters", model.name() + " has " + why + ": run './exitflow calibrate "
            + "--model " + model.name() + "' or set exitflow.model.adapters.calibrate-on-start = true");
      }
    } else {
      List<String> otherwise = ExitAdapters.fittedOtherwise(compiled);
      why = "no adapters at exits " + shallow + (otherwise.isEmpty() ? ""
          : " (those saved for " + String.join("; ", otherwise) + " are not reused)");
      if (!calibration.calibrateOnStart()) {
        LOG.warn("{} has {}: those exits serve plainly pooled states (far below the deep exit's quality), only to "
            + "requests that name them, and 'auto' goes deep. Run './exitflow calibrate --model {}' (about 20 s) or set "
            + "exitflow.model.adapters.calibrate-on-start = true", model.name(), why, model.name());
        return false;
      }
    }
    long start = System.nanoTime();
    AdapterFit wanted = wanted(model, settings, calibration);
    List<String> corpus = Corpus.named(calibration.corpus());
    LOG.info("{} has {}: calibrating them on {} sentences of {} before serving", model.name(), why, corpus.size(),
        calibration.corpus());
    try (StagedEncoder encoder = StagedEncoder.openForCalibration(model, settings, plan)) {
      ExitAdapters adapters = AdapterCalibrator.calibrate(encoder, corpus, settings.adapterPenalty(),
          calibration.meansAndSep(model.name()), new AdapterCalibrator.Listener() {});
      adapters.save(encoder.compiled(), wanted);
      LOG.info("{} calibrated in {} s; fidelity (held-out mean cosine to the deep embedding): {}", model.name(),
          String.format("%.1f", (System.nanoTime() - start) / 1e9), adapters.byLayer().values().stream()
              .map(a -> "exit " + a.exitLayer() + " " + String.format("%.4f", a.fidelity()))
              .collect(Collectors.joining(", ")));
      return true;
    } catch (OrtException e) {
      throw new IllegalStateException("cannot calibrate " + model.name(), e);
    }
  }

  /** How the configuration says adapters are fitted (reads the corpus to hash it). */
  private static AdapterFit wanted(ModelDescriptor model, ModelSettings settings, CalibrationSettings calibration) {
    return AdapterFit.of(calibration.corpus(), Corpus.named(calibration.corpus()),
        settings.adapterPenalty(), calibration.meansAndSep(model.name()));
  }
}
