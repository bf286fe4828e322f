package dev.exitflow.streams;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.model.tokenize.TextWindows;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Submits texts as their request asked ({@code long_text}), the one implementation every transport
 * shares: in truncate mode as they are; in chunk mode each text's windows as requests of their
 * own with the text's options (exit, deadline, priority, dimensions), all of one request submitted
 * together so the runtime admits them as a unit and batches them with other traffic, and the
 * answer waits for the last. A text's windows are pooled into one embedding: their mean weighted by
 * each window's tokens, L2-normalised.
 */
public final class Chunking {
  private Chunking() {}

  /** One text: {@code windows} null in truncate mode. */
  public static CompletionStage<EmbeddingResult> submit(EncoderRuntime runtime, EmbeddingRequest request,
      TextWindows windows) {
    if (windows == null) {
      return runtime.submit(request);
    }
    return submitAll(runtime, List.of(request), List.of(windows)).thenApply(results -> results.get(0));
  }

  /** Several texts, one result each in their order: {@code windows} null in truncate mode, else one per text. */
  public static CompletionStage<List<EmbeddingResult>> submitAll(EncoderRuntime runtime,
      List<EmbeddingRequest> requests, List<TextWindows> windows) {
    if (windows == null) {
      return runtime.submitAll(requests);
    }
    List<EmbeddingRequest> flat = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      EmbeddingRequest r = requests.get(i);
      for (String text : windows.get(i).texts()) {
        flat.add(r.withText(text));
      }
    }
    return runtime.submitAll(flat).thenApply(results -> {
      List<EmbeddingResult> pooled = new ArrayList<>(requests.size());
      int at = 0;
      for (TextWindows w : windows) {
        pooled.add(pool(results.subList(at, at + w.count())));
        at += w.count();
      }
      return pooled;
    });
  }

  /**
   * The windows' results as one: the token-weighted mean of their embeddings, L2-normalised; under
   * {@code auto} windows may leave at different exits, and the result names the shallowest (its
   * reason and fidelity). Tokens and compute add up; queueing is the longest wait.
   */
  static EmbeddingResult pool(List<EmbeddingResult> windows) {
    EmbeddingResult shallowest = windows.get(0);
    if (windows.size() == 1) { // a text that fits: exactly its truncate-mode embedding
      return new EmbeddingResult(shallowest.embedding(), shallowest.exitLayer(), shallowest.reason(),
          shallowest.tokens(), shallowest.truncated(), shallowest.queueMs(), shallowest.computeMs(),
          shallowest.fidelity(), 1);
    }
    double[] sum = new double[shallowest.embedding().length];
    int tokens = 0;
    double queueMs = 0;
    double computeMs = 0;
    boolean truncated = false;
    for (EmbeddingResult w : windows) {
      float[] v = w.embedding();
      for (int d = 0; d < sum.length; d++) {
        sum[d] += (double) w.tokens() * v[d];
      }
      tokens += w.tokens();
      queueMs = Math.max(queueMs, w.queueMs());
      computeMs += w.computeMs();
      truncated |= w.truncated();
      if (w.exitLayer() < shallowest.exitLayer()) {
        shallowest = w;
      }
    }
    double norm = 0;
    for (double x : sum) {
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    float[] out = new float[sum.length];
    for (int d = 0; d < sum.length; d++) {
      out[d] = (float) (norm > 0 ? sum[d] / norm : 0);
    }
    return new EmbeddingResult(out, shallowest.exitLayer(), shallowest.reason(), tokens, truncated, queueMs,
        computeMs, shallowest.fidelity(), windows.size());
  }
}
