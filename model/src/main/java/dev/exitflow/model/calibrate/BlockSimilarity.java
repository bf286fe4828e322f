package dev.exitflow.model.calibrate;

import dev.exitflow.model.runtime.NativeCalls;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.compile.BlockProbe;
import dev.exitflow.model.compile.Drop;
import dev.exitflow.model.runtime.OrtSessions;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * How little each block changes its input ("What Matters in Transformers"): the cosine similarity
 * of a block's input and output states, averaged over every live token of a corpus. A block whose
 * output is nearly its input is the cheapest to drop; the whole layer is measured too (its input
 * against its output).
 */
public final class BlockSimilarity {
  /** One block of one layer and its mean input/output cosine similarity. */
  public record Row(int layer, Drop.Block block, double cosine) {}

  private BlockSimilarity() {}

  /** Rows in layer order: attention, MLP, then the whole layer, for every layer. */
  public static List<Row> measure(ModelDescriptor model, ModelSettings settings, List<String> corpus,
      IntConsumer progress) throws OrtException {
    BlockProbe probe = BlockProbe.of(model);
    OrtEnvironment env = OrtSessions.environment(settings);
    List<BlockProbe.Layer> layers = probe.layers();
    double[][] sums = new double[layers.size()][3];
    long tokenCount = 0;
    try (OrtSession.SessionOptions options = OrtSessions.stageOptions(settings);
        OrtSession session = NativeCalls.run(() -> env.createSession(probe.model(), options));
        TextTokenizer tokenizer = new TextTokenizer(model)) {
      Set<String> wanted = new LinkedHashSet<>();
      layers.forEach(l -> wanted.addAll(List.of(l.input(), l.attention(), l.output())));
      List<TokenizedText> tokens = tokenizer.tokenize(corpus);
      Integer[] order = new Integer[tokens.size()];
      Arrays.setAll(order, i -> i);
      Arrays.sort(order, Comparator.comparingInt(i -> tokens.get(i).length()));
      int batchSize = settings.batchSize();
      for (int from = 0; from < order.length; from += batchSize) {
        List<TokenizedText> batch = Arrays.asList(order).subList(from, Math.min(order.length, from + batchSize))
            .stream().map(tokens::get).toList();
        int longest = batch.stream().mapToInt(TokenizedText::length).max().orElse(0);
        Map<String, OnnxTensor> inputs = inputs(env, session, batch, longest);
        try (OrtSession.Result result = NativeCalls.run(() -> session.run(inputs, wanted))) {
          Map<String, float[]> states = new HashMap<>();
          for (String name : wanted) {
            FloatBuffer buf = ((OnnxTensor) result.get(name).orElseThrow()).getFloatBuffer();
            float[] v = new float[buf.remaining()];
            buf.get(v);
            states.put(name, v);
          }
          int hidden = states.get(layers.get(0).input()).length / (batch.size() * longest);
          for (int b = 0; b < batch.size(); b++) {
            for (int t = 0; t < batch.get(b).length(); t++) {
              int row = (b * longest + t) * hidden;
              for (int l = 0; l < layers.size(); l++) {
                BlockProbe.Layer layer = layers.get(l);
                float[] in = states.get(layer.input());
                float[] mid = states.get(layer.attention());
                float[] out = states.get(layer.output());
                sums[l][0] += cosine(in, mid, row, hidden);
                sums[l][1] += cosine(mid, out, row, hidden);
                sums[l][2] += cosine(in, out, row, hidden);
              }
              tokenCount++;
            }
          }
        } finally {
          inputs.values().forEach(OnnxTensor::close);
        }
        progress.accept(batch.size());
      }
    }
    List<Row> rows = new ArrayList<>();
    Drop.Block[] blocks = {Drop.Block.ATTENTION, Drop.Block.MLP, Drop.Block.LAYER};
    for (int l = 0; l < layers.size(); l++) {
      for (int k = 0; k < 3; k++) {
        rows.add(new Row(layers.get(l).layer(), blocks[k], sums[l][k] / tokenCount));
      }
    }
    return rows;
  }

  /** One batch of token ids, mask and type ids, padded to {@code longest}, for every input the session takes. */
  static Map<String, OnnxTensor> inputs(OrtEnvironment env, OrtSession session, List<TokenizedText> batch,
      int longest) throws OrtException {
    long[] ids = new long[batch.size() * longest];
    long[] mask = new long[ids.length];
    long[] types = new long[ids.length];
    for (int b = 0; b < batch.size(); b++) {
      TokenizedText t = batch.get(b);
      System.arraycopy(t.ids(), 0, ids, b * longest, t.length());
      System.arraycopy(t.typeIds(), 0, types, b * longest, t.length());
      Arrays.fill(mask, b * longest, b * longest + t.length(), 1L);
    }
    long[] shape = {batch.size(), longest};
    Map<String, OnnxTensor> inputs = new HashMap<>();
    for (String name : session.getInputNames()) {
      long[] data = name.contains("mask") ? mask : name.contains("type") ? types : ids;
      inputs.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape));
    }
    return inputs;
  }

  private static double cosine(float[] a, float[] b, int row, int hidden) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int d = 0; d < hidden; d++) {
      dot += (double) a[row + d] * b[row + d];
      na += (double) a[row + d] * a[row + d];
      nb += (double) b[row + d] * b[row + d];
    }
    return dot / Math.max(Math.sqrt(na * nb), 1e-12);
  }
}
