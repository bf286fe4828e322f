package dev.exitflow.gateway.http;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/** Embedding encodings of the API. */
final class Vectors {
  private Vectors() {}

  /** OpenAI's base64 format: little-endian float32 bytes. */
  static String base64(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return Base64.getEncoder().encodeToString(b.array());
  }
}
