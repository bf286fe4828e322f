package dev.exitflow.model.runtime;

import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import dev.exitflow.model.eval.ReferenceEncoder;
import dev.exitflow.model.eval.StsDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Where an int8 deep exit's disagreement with the unmodified int8 model comes from: ONNX Runtime's
 * graph optimisation level (of the stage sessions, and of the reference itself), and the batch a
 * sentence is run in (dynamic quantisation computes its scales over the whole batch tensor).
 * Prints the figures docs/models.md quotes; asserts what the engine promises: at the same optimisation
 * level and in the same batch, the chained stages compute what the whole model computes.
 */
class Int8AgreementTest {
  private static final int SENTENCES = 200;

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2-q", "e5"})
  void deepExitAgreesAsCloselyAsInt8Allows(String name) throws Exception {
    ModelSettings all = settings("all");
    ModelDescriptor model = name.equals("e5")
        ? new ModelRepository(all).resolve(TestModels.e5Directory(Path.of("target/byo/e5"), TestModels.E5).toString())
        : TestModels.builtin(name);
    List<String> sentences =
        new ArrayList<>(StsDataset.read(TestModels.sts("sts-test.csv")).sentences().keySet()).subList(0, SENTENCES);
    int hidden = 384;
    List<float[]> refAll = reference(model, all, hidden, sentences, 32);
    List<float[]> refAlone = reference(model, all, hidden, sentences, 1);
    StringBuilder table = new StringBuilder(name + " " + model.exitLayers() + ", min / mean cosine over " + SENTENCES
        + " sts-test sentences, batches of 32 (deep exit):\n");
    table.append(row("reference, each sentence alone vs in its batch", refAlone, refAll));
    double worstSameLevel = 1;
    for (String level : List.of("none", "basic", "extended", "all")) {
      List<float[]> ref = level.equals("all") ? refAll : reference(model, settings(level), hidden, sentences, 32);
      List<float[]> staged = staged(model, settings(level), sentences);
      if (!level.equals("all")) {
        table.append(row("reference " + level + " vs reference all", ref, refAll));
      }
      table.append(row("stages " + level + " vs reference " + level, staged, ref));
      worstSameLevel = Math.min(worstSameLevel, min(staged, ref));
    }
    System.out.print(table);
    assertTrue(worstSameLevel >= 0.99999,
        "at the same optimisation level and batch the stages reproduce the unmodified model:\n" + table);
  }

  private static ModelSettings settings(String level) {
    return ModelSettings.create(ConfigFactory.parseString(
        "exitflow.model.onnx.optimization-level = " + level + "\nexitflow.model.onnx.stage-optimization-level = " + level)
        .withFallback(ConfigFactory.load()));
  }

  private static List<float[]> reference(ModelDescriptor model, ModelSettings settings, int hidden,
      List<String> sentences, int batch) throws Exception {
    List<float[]> out = new ArrayList<>();
    try (ReferenceEncoder reference = new ReferenceEncoder(model, settings, hidden)) {
      for (int from = 0; from < sentences.size(); from += batch) {
        out.addAll(reference.embedBatch(sentences.subList(from, Math.min(sentences.size(), from + batch))));
      }
    }
    return out;
  }

  private static List<float[]> staged(ModelDescriptor model, ModelSettings settings, List<String> sentences)
      throws Exception {
    List<float[]> out = new ArrayList<>();
    try (StagedEncoder engine = StagedEncoder.open(model, settings.withAdapters(false))) {
      for (int from = 0; from < sentences.size(); from += 32) {
        for (Embedding e : engine.embed(sentences.subList(from, Math.min(sentences.size(), from + 32)), "deep", null)) {
          out.add(e.vector());
        }
      }
    }
    return out;
  }

  private static double min(List<float[]> a, List<float[]> b) {
    double m = 1;
    for (int i = 0; i < a.size(); i++) {
      m = Math.min(m, cosine(a.get(i), b.get(i)));
    }
    return m;
  }

  private static String row(String what, List<float[]> a, List<float[]> b) {
    double sum = 0;
    for (int i = 0; i < a.size(); i++) {
      sum += cosine(a.get(i), b.get(i));
    }
    return String.format("  %-40s %.7f / %.7f%n", what, min(a, b), sum / a.size());
  }
}
