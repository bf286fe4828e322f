package dev.exitflow.model.calibrate;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.compile.MlpSlices;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.plan.Plan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which MLP neurons a plan's {@code mlp_keep} keeps: per layer, those with the largest mean
 * |activation| over the first {@value #SENTENCES} sentences of {@value #CORPUS}, measured on the
 * plan's own model (so int8 ranks on int8). The means are measured once per model file and kept
 * under {@code <cache>/neurons/}; the compiled stages' key covers the kept indices.
 */
public final class NeuronRanking {
  /** STS-B train: not the dev or test sentences the plans are scored on. */
  static final String CORPUS = "sts-train.csv";
  /** A few seconds of the plain model; the order of the mean magnitudes, not their values, is what counts. */
  static final int SENTENCES = 2000;
  private static final Logger log = LoggerFactory.getLogger(NeuronRanking.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private NeuronRanking() {}

  /** The neurons {@code plan} keeps of {@code model} (its plan applied); {@link MlpSlices#NONE} when it keeps all. */
  public static MlpSlices slices(ModelDescriptor model, ModelSettings settings, Plan plan) {
    if (!plan.slicesMlp()) {
      return MlpSlices.NONE;
    }
    double[][] means = means(model, settings);
    Map<Integer, int[]> kept = new HashMap<>();
    for (int layer = 1; layer <= means.length; layer++) {
      double keep = plan.mlpKeepOf(layer);
      if (keep < 1.0) {
        int[] ranking = ranking(means[layer - 1]);
        int[] top = Arrays.copyOf(ranking, (int) Math.ceil(keep * ranking.length));
        Arrays.sort(top); // the weights' own order
        kept.put(layer, top);
      }
    }
    return new MlpSlices(kept);
  }

  static int[] ranking(double[] m) {
    return java.util.stream.IntStream.range(0, m.length).boxed()
        .sorted((x, y) -> m[x] != m[y] ? Double.compare(m[y], m[x]) : Integer.compare(x, y))
        .mapToInt(Integer::intValue).toArray();
  }

  private static double[][] means(ModelDescriptor model, ModelSettings settings) {
    Path file = settings.cacheDir().resolve("neurons")
        .resolve(StageCache.modelHash(model) + "-" + CORPUS + "-" + SENTENCES + ".json");
    try {
      if (Files.isRegularFile(file)) {
        return JSON.readValue(file.toFile(), double[][].class);
      }
      List<String> corpus = Corpus.named(CORPUS);
      corpus = corpus.subList(0, Math.min(SENTENCES, corpus.size()));
      log.info("ranking the MLP neurons of {} on {} sentences of {}", model.name(), corpus.size(), CORPUS);
      NeuronActivity a = NeuronActivity.measure(model, settings, corpus, false, n -> {});
      double[][] means = new double[a.layers()][];
      for (int layer = 1; layer <= a.layers(); layer++) {
        means[layer - 1] = a.meanMagnitude(layer);
      }
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), "ranking-", ".json");
      JSON.writeValue(tmp.toFile(), means);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return means;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the neuron ranking in " + file, e);
    } catch (OrtException e) {
      throw new IllegalStateException("cannot rank the MLP neurons of " + model.name(), e);
    }
  }
}
