package dev.exitflow.model.calibrate;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a served model calibrated out of the box: when its shallow exits have no saved adapters,
 * fits them on the configured corpus before the model serves (once per cache directory), or, when
 * that is switched off, warns that shallow exits are uncalibrated and says how to calibrate.
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
    if (ExitAdapters.load(compiled, shallow).byLayer().keySet().containsAll(shallow)) {
      return false;
    }
    if (!calibration.calibrateOnStart()) {
      LOG.warn("{} has no adapters at exits {}: those exits serve plainly pooled states (far below the deep exit's "
          + "quality), only to requests that name them, and 'auto' goes deep. Run './exitflow calibrate --model {}' "
          + "(about 20 s) or set exitflow.model.adapters.calibrate-on-start = true", model.name(), shallow, model.name());
      return false;
    }
    long start = System.nanoTime();
    List<String> corpus = Corpus.read(StsFiles.locate(calibration.corpus()));
    LOG.info("{} has no adapters at exits {}: calibrating them on {} sentences of {} before serving", model.name(),
        shallow, corpus.size(), calibration.corpus());
    try (StagedEncoder encoder = StagedEncoder.openForCalibration(model, settings, plan)) {
      ExitAdapters adapters = AdapterCalibrator.calibrate(encoder, corpus, settings.adapterPenalty(),
          calibration.meansAndSep(model.name()), new AdapterCalibrator.Listener() {});
      adapters.save(encoder.compiled());
      LOG.info("{} calibrated in {} s; fidelity (held-out mean cosine to the deep embedding): {}", model.name(),
          String.format("%.1f", (System.nanoTime() - start) / 1e9), adapters.byLayer().values().stream()
              .map(a -> "exit " + a.exitLayer() + " " + String.format("%.4f", a.fidelity()))
              .collect(Collectors.joining(", ")));
      return true;
    } catch (OrtException e) {
      throw new IllegalStateException("cannot calibrate " + model.name(), e);
    }
  }

}
