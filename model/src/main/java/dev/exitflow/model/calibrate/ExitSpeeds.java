package dev.exitflow.model.calibrate;

import ai.onnxruntime.OrtException;
import dev.exitflow.model.adapter.AdapterFit;
import dev.exitflow.model.runtime.StagedEncoder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Times each exit of an engine (with its adapter) on the same sentences, to find an exit whose
 * adapter costs more than the layers it saves: on int8 12-layer models an adapted exit 8 ran at
 * 0.86-1.02x the deep exit. Passes are interleaved across exits so that load on the machine falls
 * on all of them alike, and each exit's speed is the median of its passes.
 */
public final class ExitSpeeds {
  private ExitSpeeds() {}

  /** Per shallow exit that has an adapter: its sentences/s and the next exit's. */
  public static Map<Integer, AdapterFit.ExitSpeed> measure(StagedEncoder encoder, List<String> sentences, int rounds)
      throws OrtException {
    List<Integer> layers = encoder.exits().layers();
    double[][] rates = new double[layers.size()][rounds];
    for (int e = 0; e < layers.size(); e++) {
      encoder.embed(sentences, String.valueOf(layers.get(e)), null); // warm-up: sessions, allocator, caches
    }
    for (int r = 0; r < rounds; r++) {
      for (int e = 0; e < layers.size(); e++) {
        long start = System.nanoTime();
        encoder.embed(sentences, String.valueOf(layers.get(e)), null);
        rates[e][r] = sentences.size() / ((System.nanoTime() - start) / 1e9);
      }
    }
    Map<Integer, AdapterFit.ExitSpeed> out = new LinkedHashMap<>();
    for (int e = 0; e < layers.size() - 1; e++) {
      if (encoder.head(e).adapter() != null) {
        out.put(layers.get(e), new AdapterFit.ExitSpeed(median(rates[e]), median(rates[e + 1])));
      }
    }
    return out;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
