package dev.exitflow.model.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.compile.CompiledModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterFileTest {
  @TempDir Path tmp;

  static ExitAdapter random(int exitLayer, int features, int hidden) {
    Random r = new Random(exitLayer);
    float[] w = new float[features * hidden];
    float[] b = new float[hidden];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) r.nextGaussian();
    }
    float[] m = new float[features];
    m[1] = 2.5f;
    return new ExitAdapter("m", exitLayer, features, hidden, 0.01, 123, 0.9, m, w, b);
  }

  @Test
  void anAdapterRoundTripsThroughItsFile() {
    ExitAdapter a = random(2, 30, 8);
    Path file = tmp.resolve(AdapterFile.name(2));
    AdapterFile.write(a, file);
    ExitAdapter back = AdapterFile.read(file);
    assertEquals(a.summary(), back.summary());
    assertEquals(a.model(), back.model());
    assertEquals(a.exitLayer(), back.exitLayer());
    assertArrayEquals(a.inputMean(), back.inputMean());
    assertArrayEquals(a.weights(), back.weights());
    assertArrayEquals(a.bias(), back.bias());
    float[] x = new float[30];
    x[3] = 1.5f;
    assertArrayEquals(a.apply(x), back.apply(x));
  }

  @Test
  void aModelsAdaptersAreSavedAndFoundBesideItsStages() {
    CompiledModel compiled = new CompiledModel("m", 6, 8, List.of(), tmp);
    ExitAdapters adapters = new ExitAdapters(Map.of(2, random(2, 30, 8), 4, random(4, 50, 8)));
    List<Path> files = adapters.save(compiled);
    assertEquals(List.of(tmp.resolve("adapters/exit-2.adapter"), tmp.resolve("adapters/exit-4.adapter")), files);
    assertTrue(Files.isRegularFile(files.get(1)));
    ExitAdapters loaded = ExitAdapters.load(compiled, List.of(2, 4, 6));
    assertEquals(50, loaded.forLayer(4).features());
    assertEquals(null, loaded.forLayer(6));
    assertTrue(ExitAdapters.load(new CompiledModel("m", 6, 8, List.of(), tmp.resolve("none")), List.of(2)).isEmpty());
  }

  @Test
  void aFileThatIsNotAnAdapterIsATypedError() throws Exception {
    Path file = Files.writeString(tmp.resolve("exit-2.adapter"), "not an adapter");
    AdapterFormatException e = assertThrows(AdapterFormatException.class, () -> AdapterFile.read(file));
    assertEquals("bad_adapter", e.code());
  }

  @Test
  void ridgeRecoversAnAffineMapOnBothSolvePaths() {
    Random r = new Random(7);
    int features = 6;
    for (int n : new int[] {4, 200}) { // fewer samples than features: dual; more: primal
      float[][] x = new float[n][features];
      float[][] y = new float[n][2];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < features; j++) {
          x[i][j] = (float) r.nextGaussian() * (j + 1);
        }
        y[i][0] = 3 + 2 * x[i][0] - x[i][5];
        y[i][1] = -1 + 0.5f * x[i][2];
      }
      RidgeFit.Solution s = RidgeFit.fit(x, List.of(features), y, 1e-9).get(0);
      ExitAdapter a = new ExitAdapter("m", 1, features, 2, 0, n, 1, s.mean(), s.weights(), s.bias());
      for (int i = 0; i < n; i++) {
        float[] p = a.apply(x[i]);
        assertEquals(y[i][0], p[0], 1e-2);
        assertEquals(y[i][1], p[1], 1e-2);
      }
    }
  }
}
