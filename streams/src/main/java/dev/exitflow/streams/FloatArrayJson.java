package dev.exitflow.streams;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.NumberOutput;
import java.io.IOException;

/**
 * An embedding as a JSON array of numbers, as {@code writeNumber(float)} writes each, only faster.
 * On JDK 17 that is Float.toString, whose FloatingDecimal is most of the encoding's cost; Jackson's
 * Schubfach writer gives the same text for every float of magnitude in [2^-14, 1) (all 117,440,512
 * of them compared) but not everywhere (e.g. 7.4505806E-9 vs 7.450581E-9), so it writes the
 * components in that range (nearly all of a unit vector's) and Float.toString the rest: the bytes
 * are what they were.
 */
public final class FloatArrayJson {
  private static final float FAST_FROM = 0x1p-14f;

  private FloatArrayJson() {}

  public static void write(JsonGenerator g, float[] values) throws IOException {
    g.writeStartArray(values, values.length);
    for (float x : values) {
      float a = Math.abs(x);
      if (a >= FAST_FROM && a < 1f) { // NaN fails this too: writeNumber(float) decides how it looks
        g.writeNumber(NumberOutput.toString(x, true));
      } else {
        g.writeNumber(x);
      }
    }
    g.writeEndArray();
  }
}
