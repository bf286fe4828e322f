package dev.exitflow.research;

import dev.exitflow.gateway.cli.Json;
import dev.exitflow.gateway.cli.Progress;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.calibrate.NeuronActivity;
import dev.exitflow.model.calibrate.NeuronSparsity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;

/** {@code blocks --neurons}: the per-layer MLP activation sparsity table, as markdown (and JSON). */
final class NeuronTable {
  private NeuronTable() {}

  record Report(String model, String corpus, int sentences, List<NeuronSparsity.Row> layers) {}

  static int print(ModelDescriptor model, ModelSettings settings, Path corpus, List<String> sentences, boolean json,
      PrintWriter out) throws Exception {
    NeuronActivity activity;
    long start = System.nanoTime();
    try (ProgressBar bar = Progress.bar("neurons " + model.name(), sentences.size(), "sentences")) {
      activity = NeuronActivity.measure(model, settings, sentences, true, bar::stepBy);
    }
    List<NeuronSparsity.Row> rows = NeuronSparsity.of(activity);
    out.printf(Locale.ROOT, "%s: |activation| of the %d MLP neurons per layer (after the activation function) over "
        + "the first %d sentences of %s (%.0f s). Share of neurons holding 90 / 95 / 99%% of the mass: of the corpus "
        + "(one fixed set), of each sentence, of each token (means). Top quarter: share of a sentence's top 25%% "
        + "inside the corpus' top 25%%, and Jaccard overlap of consecutive sentences' top 25%%. Mass kept by half the "
        + "neurons: the corpus' top half (static) against each sentence's own top half (per-input oracle).%n%n",
        model.name(), activity.width(), sentences.size(), corpus.getFileName(), (System.nanoTime() - start) / 1e9);
    out.println("| layer | corpus 90/95/99% | sentence 90/95/99% | token 90/95/99% | top quarter in corpus' | "
        + "top quarter Jaccard | mass in corpus' top half | mass in own top half |");
    out.println("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (NeuronSparsity.Row r : rows) {
      out.printf(Locale.ROOT, "| %d | %s | %s | %s | %.2f | %.2f | %.3f | %.3f |%n", r.layer(), shares(r.corpusShare()),
          shares(r.sentenceShare()), shares(r.tokenShare()), r.topQuarterInStatic(), r.topQuarterJaccard(),
          r.staticHalfMass(), r.ownHalfMass());
    }
    if (json) {
      out.println(Json.of(new Report(model.name(), corpus.toString(), sentences.size(), rows)));
    }
    out.flush();
    return 0;
  }

  private static String shares(double[] s) {
    return String.format(Locale.ROOT, "%.2f / %.2f / %.2f", s[0], s[1], s[2]);
  }
}
