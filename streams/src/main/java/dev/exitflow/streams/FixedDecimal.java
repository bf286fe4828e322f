package dev.exitflow.streams;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;

/**
 * A JSON number with a fixed number of decimals ({@code 12.346}), written from a long without
 * Double.toString, whose FloatingDecimal is slow on JDK 17 and was among the JIT's longest
 * compilations. For timings ({@code queue_ms}, {@code compute_ms}, {@code latency_ms}) where more
 * digits than the decimals mean nothing. Values that are not finite or too large to scale into a
 * long are written as {@code writeNumber(double)} writes them.
 */
public final class FixedDecimal {
  private static final long[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000};
  /** Below 2^53 / 10^6: scaled values stay exact integers in a double. */
  private static final double LIMIT = 9e9;

  private FixedDecimal() {}

  /** Writes {@code value} rounded half up to {@code decimals} places (0 to 6). */
  public static void write(JsonGenerator g, double value, int decimals) throws IOException {
    if (!(Math.abs(value) < LIMIT)) { // NaN and infinities fail this too
      g.writeNumber(value);
      return;
    }
    char[] buf = new char[24];
    int len = format(value, decimals, buf);
    g.writeNumber(buf, 0, len);
  }

  /** {@code value} rounded to {@code decimals} places, as text ({@code |value| < 9e9}). */
  public static String toString(double value, int decimals) {
    char[] buf = new char[24];
    return new String(buf, 0, format(value, decimals, buf));
  }

  private static int format(double value, int decimals, char[] buf) {
    if (decimals < 0 || decimals >= POW10.length) {
      throw new IllegalArgumentException("decimals must be 0 to " + (POW10.length - 1) + ": " + decimals);
    }
    long scaled = Math.round(value * POW10[decimals]);
    boolean negative = scaled < 0;
    long n = Math.abs(scaled);
    // Digits from the right: the decimals, then the point, then at least one integer digit.
    int at = buf.length;
    for (int i = 0; i < decimals; i++) {
      buf[--at] = (char) ('0' + n % 10);
      n /= 10;
    }
    if (decimals > 0) {
      buf[--at] = '.';
    }
    do {
      buf[--at] = (char) ('0' + n % 10);
      n /= 10;
    } while (n > 0);
    if (negative) {
      buf[--at] = '-';
    }
    int len = buf.length - at;
    System.arraycopy(buf, at, buf, 0, len);
    return len;
  }
}
