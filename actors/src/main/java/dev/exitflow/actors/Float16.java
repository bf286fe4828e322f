package dev.exitflow.actors;

/**
 * IEEE 754 binary16 ("half") conversions, for hidden states sent across the cluster in half the
 * bytes (Java 17 has no {@code Float.floatToFloat16}; that came in Java 20). Float to half rounds
 * to nearest, ties to even, as the hardware does: magnitudes from 65,520 up become infinity, below
 * 2^-25 zero (or the nearest subnormal half between); NaN stays NaN. Half to float is exact.
 */
final class Float16 {
  private Float16() {}

  static short fromFloat(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exponent = (bits >>> 23) & 0xff;
    int mantissa = bits & 0x7fffff;
    if (exponent == 0xff) { // infinity, or NaN (kept a NaN even when its payload is in the low bits)
      return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 | (mantissa >>> 13) : 0));
    }
    int e = exponent - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) { // a subnormal half, or zero
      if (e < -10) { // below 2^-25, half the smallest subnormal: zero
        return (short) sign;
      }
      int significand = mantissa | 0x800000;
      int shift = 14 - e; // the half's unit is 2^-24
      int half = significand >>> shift;
      int rest = significand & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rest > halfway || (rest == halfway && (half & 1) != 0)) {
        half++; // may become the smallest normal half, which is right
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mantissa >>> 13);
    int rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) {
      half++; // a carry goes into the exponent, up to infinity: right too
    }
    return (short) (sign | half);
  }

  static float toFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1f;
    int mantissa = bits & 0x3ff;
    if (exponent == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      float v = mantissa * 0x1p-24f; // exact: at most 10 significant bits
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
}
