package dev.exitflow.model.compile;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which intermediate MLP neurons the stage compiler keeps, per encoder layer (counting from 1): the
 * indices of the kept neurons, in the order their weights are laid out. A layer not listed keeps
 * all of its neurons, untouched.
 */
public record MlpSlices(Map<Integer, int[]> kept) {
  /** Every neuron of every layer: stages compile exactly as without slicing. */
  public static final MlpSlices NONE = new MlpSlices(Map.of());

  public MlpSlices {
    kept = new TreeMap<>(kept);
  }

  public boolean isEmpty() {
    return kept.isEmpty();
  }

  /**
   * For cache keys: neurons kept per layer and a digest of which, e.g. {@code 1:768,2:1152#3fa0c1d2e4b5}.
   * The digest covers the indices, so a ranking that changes (another corpus) compiles afresh.
   */
  String label() {
    StringBuilder s = new StringBuilder();
    ByteBuffer indices = ByteBuffer.allocate(4 * kept.values().stream().mapToInt(k -> k.length + 1).sum());
    kept.forEach((layer, k) -> {
      s.append(s.isEmpty() ? "" : ",").append(layer).append(':').append(k.length);
      indices.putInt(-layer);
      Arrays.stream(k).forEach(indices::putInt);
    });
    return s + "#" + StageCache.hex(StageCache.digest(indices.array())).substring(0, 12);
  }
}
