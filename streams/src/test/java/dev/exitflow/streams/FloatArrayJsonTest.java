package dev.exitflow.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FloatArrayJson writes the bytes writeNumber(float) per element writes, faster. */
class FloatArrayJsonTest {
  private static final JsonFactory JSON = new JsonFactory();

  @Test
  void sameBytesAsWriteNumberPerElement() throws IOException {
    // Where the fast writer and JDK 17's Float.toString disagree, at the edges of its range, and NaN.
    float[] edges = {0f, -0f, 1f, -1f, 0x1p-14f, -0x1p-14f, Math.nextDown(0x1p-14f), Math.nextDown(1f),
        7.4505806E-9f, -1.17549435E-38f, Float.MIN_VALUE, 3.3556552E7f, 1e30f, Float.NaN, Float.POSITIVE_INFINITY};
    assertEquals(perElement(edges), fast(edges));
    Random random = new Random(21);
    float[] embedding = new float[384];
    for (int round = 0; round < 200; round++) {
      for (int i = 0; i < embedding.length; i++) {
        embedding[i] = (float) (random.nextGaussian() * 0.05);
      }
      assertEquals(perElement(embedding), fast(embedding));
    }
  }

  private static String fast(float[] v) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      FloatArrayJson.write(g, v);
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static String perElement(float[] v) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartArray();
      for (float x : v) {
        g.writeNumber(x);
      }
      g.writeEndArray();
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }
}
