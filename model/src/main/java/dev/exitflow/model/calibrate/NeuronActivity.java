package dev.exitflow.model.calibrate;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.compile.NeuronProbe;
import dev.exitflow.model.runtime.NativeCalls;
import dev.exitflow.model.runtime.OrtSessions;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * How activation magnitude spreads over each layer's intermediate MLP neurons on a corpus (the
 * "lazy neuron" measurement): per neuron, the mean |activation| over every live token, and per
 * sentence the summed |activation| of each neuron, from which {@link NeuronSparsity} reads how
 * many neurons carry most of the mass and how stable the top set is.
 */
public final class NeuronActivity {
  /** Shares of activation mass the tables report. */
  static final double[] MASSES = {0.90, 0.95, 0.99};

  /** {@code mean[l][n]}: mean |activation| of neuron n of layer l+1 over all tokens. */
  private final double[][] mean;
  /** {@code sentence[l][s]}: summed |activation| per neuron of sentence s over its tokens. */
  private final float[][][] sentence;
  /** {@code tokenShare[l][m]}: mean over tokens of the share of neurons holding MASSES[m] of the token's mass. */
  private final double[][] tokenShare;

  private NeuronActivity(double[][] mean, float[][][] sentence, double[][] tokenShare) {
    this.mean = mean;
    this.sentence = sentence;
    this.tokenShare = tokenShare;
  }

  /**
   * Runs {@code model} over {@code corpus}. {@code perSentence}: keep each sentence's per-neuron
   * sums and measure each token's spread (for the sparsity table; a ranking needs only the means).
   */
  public static NeuronActivity measure(ModelDescriptor model, ModelSettings settings, List<String> corpus,
      boolean perSentence, IntConsumer progress) throws OrtException {
    NeuronProbe probe = NeuronProbe.of(model);
    List<NeuronProbe.Layer> layers = probe.layers();
    int width = layers.get(0).width();
    double[][] sums = new double[layers.size()][width];
    double[][] tokenShare = new double[layers.size()][MASSES.length];
    float[][][] sentences = perSentence ? new float[layers.size()][corpus.size()][] : null;
    long tokenCount = 0;
    OrtEnvironment env = OrtSessions.environment(settings);
    try (OrtSession.SessionOptions options = OrtSessions.stageOptions(settings);
        OrtSession session = NativeCalls.run(() -> env.createSession(probe.model(), options));
        TextTokenizer tokenizer = new TextTokenizer(model)) {
      Set<String> wanted = new LinkedHashSet<>();
      layers.forEach(l -> wanted.add(l.output()));
      List<TokenizedText> tokens = tokenizer.tokenize(corpus);
      Integer[] order = new Integer[tokens.size()];
      Arrays.setAll(order, i -> i);
      Arrays.sort(order, Comparator.comparingInt(i -> tokens.get(i).length())); // less padding per batch
      float[] sorted = new float[width];
      for (int from = 0; from < order.length; from += settings.batchSize()) {
        List<Integer> ids = Arrays.asList(order).subList(from, Math.min(order.length, from + settings.batchSize()));
        List<TokenizedText> batch = ids.stream().map(tokens::get).toList();
        int longest = batch.stream().mapToInt(TokenizedText::length).max().orElse(0);
        Map<String, OnnxTensor> inputs = BlockSimilarity.inputs(env, session, batch, longest);
        try (OrtSession.Result result = NativeCalls.run(() -> session.run(inputs, wanted))) {
          for (int l = 0; l < layers.size(); l++) {
            FloatBuffer buf = ((OnnxTensor) result.get(layers.get(l).output()).orElseThrow()).getFloatBuffer();
            float[] a = new float[buf.remaining()];
            buf.get(a);
            for (int b = 0; b < batch.size(); b++) {
              float[] own = perSentence ? new float[width] : null;
              for (int t = 0; t < batch.get(b).length(); t++) {
                int row = (b * longest + t) * width;
                for (int n = 0; n < width; n++) {
                  float v = Math.abs(a[row + n]);
                  sums[l][n] += v;
                  if (own != null) {
                    own[n] += v;
                    sorted[n] = v;
                  }
                }
                if (own != null) {
                  Arrays.sort(sorted);
                  double[] shares = sharesFor(sorted);
                  for (int m = 0; m < MASSES.length; m++) {
                    tokenShare[l][m] += shares[m];
                  }
                }
              }
              if (own != null) {
                sentences[l][ids.get(b)] = own;
              }
            }
          }
          tokenCount += batch.stream().mapToInt(TokenizedText::length).sum();
        } finally {
          inputs.values().forEach(OnnxTensor::close);
        }
        progress.accept(batch.size());
      }
    }
    for (int l = 0; l < layers.size(); l++) {
      for (int n = 0; n < width; n++) {
        sums[l][n] /= tokenCount;
      }
      for (int m = 0; m < MASSES.length; m++) {
        tokenShare[l][m] /= tokenCount;
      }
    }
    return new NeuronActivity(sums, sentences, tokenShare);
  }

  /** Share of neurons holding each of {@link #MASSES} of the mass, from magnitudes sorted ascending. */
  static double[] sharesFor(float[] ascending) {
    double total = 0;
    for (float v : ascending) {
      total += v;
    }
    double[] shares = new double[MASSES.length];
    double kept = 0;
    int m = 0;
    for (int i = ascending.length - 1; i >= 0 && m < MASSES.length; i--) {
      kept += ascending[i];
      while (m < MASSES.length && kept >= MASSES[m] * total) {
        shares[m++] = (double) (ascending.length - i) / ascending.length;
      }
    }
    while (m < MASSES.length) {
      shares[m++] = 1.0;
    }
    return shares;
  }

  public int layers() {
    return mean.length;
  }

  public int width() {
    return mean[0].length;
  }

  /** Mean |activation| per neuron of layer {@code layer} (counting from 1) over every token. */
  public double[] meanMagnitude(int layer) {
    return mean[layer - 1].clone();
  }

  /** Per sentence, summed |activation| per neuron of layer {@code layer}; null unless measured per sentence. */
  float[][] perSentence(int layer) {
    return sentence == null ? null : sentence[layer - 1];
  }

  double[] tokenShares(int layer) {
    return tokenShare[layer - 1].clone();
  }

  /** Neuron indices of layer {@code layer} by descending mean |activation|. */
  public int[] ranking(int layer) {
    return NeuronRanking.ranking(mean[layer - 1]);
  }
}
