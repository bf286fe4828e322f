package dev.exitflow.model.eval;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.runtime.Embedding;
import dev.exitflow.model.runtime.StagedEncoder;
import dev.exitflow.model.runtime.TokenPruner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

/**
 * Scores every exit of an engine on STS: Spearman correlation between the cosine similarity of
 * the two sentences' embeddings and the gold score. Each exit embeds every distinct sentence once,
 * timed on its own, so sentences/s is that exit's real cost.
 */
public final class StsEvaluator {
  private static final int CHUNK = 256;

  private StsEvaluator() {}

  /** {@code progress} receives the number of sentences embedded since its last call. */
  public static StsReport evaluate(StagedEncoder encoder, StsDataset data, IntConsumer progress) throws OrtException {
    Map<String, Integer> index = data.sentences();
    List<String> sentences = new ArrayList<>(index.keySet());
    List<StsReport.Exit> exits = new ArrayList<>();
    for (int stage = 0; stage < encoder.exits().layers().size(); stage++) {
      int layer = encoder.exits().layers().get(stage);
      ExitAdapter adapter = encoder.head(stage).adapter();
      float[][] vectors = new float[sentences.size()][];
      long tokens = 0;
      long tokensAtExit = 0;
      long start = System.nanoTime();
      for (int from = 0; from < sentences.size(); from += CHUNK) {
        List<String> chunk = sentences.subList(from, Math.min(sentences.size(), from + CHUNK));
        List<Embedding> out = encoder.embed(chunk, String.valueOf(layer), null);
        for (int i = 0; i < out.size(); i++) {
          vectors[from + i] = out.get(i).vector();
          tokens += out.get(i).tokens();
          tokensAtExit += tokensAt(encoder, stage, out.get(i).tokens());
        }
        progress.accept(chunk.size());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double spearman = spearman(data, index, vectors);
      exits.add(new StsReport.Exit(layer, spearman, sentences.size() / seconds, (double) tokens / sentences.size(),
          (double) tokensAtExit / sentences.size(), adapter == null ? null : adapter.summary()));
    }
    return new StsReport(encoder.model().name(), encoder.model().precision(), data.file().toString(),
        data.pairs().size(), encoder.plan(), exits);
  }

  /** Tokens a text of {@code length} has left in stage {@code stage} after the pruning before it. */
  private static int tokensAt(StagedEncoder encoder, int stage, int length) {
    int n = length;
    for (int s = 1; s <= stage; s++) {
      n = TokenPruner.kept(n, encoder.stage(s).keepRatio());
    }
    return n;
  }

  /** Spearman between cosine similarities (vectors are unit length) and gold scores. */
  public static double spearman(StsDataset data, Map<String, Integer> index, float[][] vectors) {
    double[] predicted = new double[data.pairs().size()];
    double[] gold = new double[predicted.length];
    for (int i = 0; i < predicted.length; i++) {
      StsDataset.Pair p = data.pairs().get(i);
      predicted[i] = dot(vectors[index.get(p.first())], vectors[index.get(p.second())]);
      gold[i] = p.score();
    }
    return new SpearmansCorrelation().correlation(predicted, gold);
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
