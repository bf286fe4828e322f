package dev.exitflow.model.runtime;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/**
 * An embedding as base64 text: its float32 values in little-endian byte order, OpenAI's
 * {@code encoding_format: "base64"} (the HTTP API and the Kafka results both send it).
 */
public final class Base64Floats {
  private Base64Floats() {}

  public static String encode(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(b.array());
  }
}
