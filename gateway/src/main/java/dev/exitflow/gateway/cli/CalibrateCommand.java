package dev.exitflow.gateway.cli;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.adapter.AdapterFit;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.calibrate.ExitSpeeds;
import dev.exitflow.model.adapter.ExitAdapters;
import dev.exitflow.model.calibrate.AdapterCalibrator;
import dev.exitflow.model.calibrate.CalibrationSettings;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.runtime.StagedEncoder;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "calibrate", mixinStandardHelpOptions = true,
    description = "Fit, for each exit but the deep one, an adapter imitating the deep embedding, and save it beside the compiled model.")
final class CalibrateCommand implements Callable<Integer> {
  @Option(names = "--corpus",
      description = "Unlabeled sentences: an STS CSV (scores unused) or one sentence per line, or several such files "
          + "joined with '+'; a bare name is looked up shipped in data/ (sts-train.csv, europarl-en.txt; default: "
          + "exitflow.model.adapters.corpus). `serve` refits adapters fitted on another corpus than it is configured with")
  String corpus;

  @Option(names = "--penalty", description = "Ridge penalty per sentence (default: exitflow.model.adapters.penalty)")
  Double penalty;

  @Option(names = "--means-and-sep", negatable = true,
      description = "Adapters read only each layer's content mean and, from layer 1 on, its [SEP] state (no [CLS]): "
          + "fewer features to multiply; better for the int8 model, worse for fp32 (default: on for the models in "
          + "exitflow.model.adapters.means-and-sep)")
  Boolean meansAndSep;

  @Option(names = "--speed-sentences", defaultValue = "512",
      description = "Corpus sentences each exit is timed on afterwards, to report an exit whose adapter makes it no "
          + "faster than the next exit (0: do not time; default: ${DEFAULT-VALUE})")
  int speedSentences;

  @Option(names = "--plan", paramLabel = "FILE",
      description = "Fit the adapters of this plan's stages (its model, exits and drops; keep ratios are not applied, "
          + "so pruned plans use the adapters of their unpruned stages); instead of --model")
  Path plan;

  @Mixin ModelOption model;

  @Spec CommandSpec spec;

  record Fitted(int exitLayer, int features, double penalty, double fidelity, double seconds) {}

  @Override
  public Integer call() throws Exception {
    long started = System.nanoTime();
    Plan p = model.plan(plan, spec);
    ModelDescriptor descriptor = model.resolve(p.model());
    CalibrationSettings configured = CalibrationSettings.create(ConfigFactory.load());
    String corpusName = corpus != null ? corpus : configured.corpus();
    List<String> sentences = Corpus.named(corpusName);
    boolean readsMeansAndSep = meansAndSep != null ? meansAndSep : configured.meansAndSep(descriptor.name());
    double lambda = penalty != null ? penalty : model.settings().adapterPenalty();
    AdapterFit fit = AdapterFit.of(corpusName, sentences, lambda, readsMeansAndSep);
    List<Fitted> fitted = new ArrayList<>();
    ExitAdapters adapters;
    List<Path> files;
    try (StagedEncoder encoder = StagedEncoder.openForCalibration(descriptor, model.settings(), p)) {
      // One step per sentence embedded, then as many for the fit (one shared solve for all exits).
      try (ProgressBar bar = Progress.bar("calibrate " + descriptor.name(), 2L * sentences.size(), "steps")) {
        adapters = AdapterCalibrator.calibrate(encoder, sentences, lambda, readsMeansAndSep, new AdapterCalibrator.Listener() {
          @Override
          public void embedded(int n) {
            bar.stepBy(n);
          }

          @Override
          public void fitting(List<Integer> exitLayers, List<Integer> features) {
            bar.setExtraMessage(" fitting exits " + exitLayers + " (" + features + " features)");
          }

          @Override
          public void fitted(List<ExitAdapter> all, double seconds) {
            bar.stepBy(sentences.size());
            all.forEach(a -> fitted.add(new Fitted(a.exitLayer(), a.features(), a.penalty(), a.fidelity(), seconds)));
          }
        });
      }
      files = adapters.save(encoder.compiled(), fit);
    }
    Map<Integer, AdapterFit.ExitSpeed> speed = Map.of();
    if (speedSentences > 0) {
      try (StagedEncoder timed = StagedEncoder.open(descriptor, model.settings().withAdapters(true), p)) {
        speed = ExitSpeeds.measure(timed, sentences.subList(0, Math.min(speedSentences, sentences.size())), 3);
        ExitAdapters.saveFit(timed.compiled(), fit.withSpeed(speed));
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    int fittedOn = fitted.isEmpty() ? sentences.size() : adapters.byLayer().values().iterator().next().corpusSentences();
    out.printf("%s: adapters fitted on %d of the %d sentences of %s; fidelity on the other %d (held out)%n",
        descriptor.name(), fittedOn, sentences.size(), corpusName, sentences.size() - fittedOn);
    out.printf("%-6s %9s %9s %12s %12s %12s  %s%n", "exit", "features", "penalty", "fidelity", "fit seconds",
        "x next exit", "file");
    List<Integer> notFaster = new ArrayList<>();
    for (int i = 0; i < fitted.size(); i++) {
      Fitted f = fitted.get(i);
      AdapterFit.ExitSpeed s = speed.get(f.exitLayer());
      out.printf("%-6d %9d %9g %12.4f %12.1f %12s  %s%n", f.exitLayer(), f.features(), f.penalty(), f.fidelity(),
          f.seconds(), s == null ? "-" : String.format("%.2f", s.sentencesPerSecond() / s.nextExitSentencesPerSecond()),
          files.get(i));
      if (s != null && !s.fasterThanNext()) {
        notFaster.add(f.exitLayer());
      }
    }
    if (!notFaster.isEmpty()) {
      out.printf("warning: with its adapter, exit%s %s %s no faster than the next exit (timed on %d sentences); "
          + "'auto' should not choose %s%n", notFaster.size() > 1 ? "s" : "", notFaster,
          notFaster.size() > 1 ? "are" : "is", Math.min(speedSentences, sentences.size()),
          notFaster.size() > 1 ? "them" : "it");
    }
    out.printf("calibrated in %.1f s%n", (System.nanoTime() - started) / 1e9);
    out.flush();
    return 0;
  }
}
