package dev.exitflow.actors;

import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts {@link WorkerMessageSerializer} writes messages from, on a little-endian buffer: hidden
 * states (raw floats or IEEE halves, each state saying which), token ids (ints when they fit),
 * float arrays and strings (length first, -1 for null), and the size of each.
 */
final class WireParts {
  private static final byte FLOAT32_VALUES = 0;
  private static final byte FLOAT16_VALUES = 1;
  private static final byte NO_TOKENS = 0;
  private static final byte OWN_TOKENS = 1;
  private static final byte BATCH_TOKENS = 2;
  private static final byte IDS_AS_INTS = 1;
  private static final byte IDS_AS_LONGS = 2;

  private WireParts() {}


  static void writeStates(List<HiddenState> states, List<TokenizedText> batchTokens, boolean half, ByteBuffer buf) {
    if (states == null) {
      buf.putInt(-1);
      return;
    }
    buf.putInt(states.size());
    for (int i = 0; i < states.size(); i++) {
      HiddenState s = states.get(i);
      buf.putInt(s.length());
      buf.putInt(s.hiddenSize());
      if (half) {
        buf.put(FLOAT16_VALUES);
        for (float v : s.values()) { // straight into the buffer, no array of halves in between
          buf.putShort(Float16.fromFloat(v));
        }
      } else {
        buf.put(FLOAT32_VALUES);
        putFloats(s.values(), buf);
      }
      writeFloats(s.features(), buf);
      if (s.tokens() == null) {
        buf.put(NO_TOKENS);
      } else if (batchTokens != null && i < batchTokens.size() && s.tokens() == batchTokens.get(i)) {
        buf.put(BATCH_TOKENS);
      } else {
        buf.put(OWN_TOKENS);
        writeTokens(s.tokens(), buf);
      }
    }
  }

  static List<HiddenState> readStates(ByteBuffer buf, List<TokenizedText> batchTokens) {
    int n = buf.getInt();
    if (n < 0) {
      return null;
    }
    List<HiddenState> states = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int length = buf.getInt();
      int hiddenSize = buf.getInt();
      float[] values = new float[Math.multiplyExact(length, hiddenSize)];
      byte valueEncoding = buf.get();
      if (valueEncoding == FLOAT16_VALUES) {
        for (int k = 0; k < values.length; k++) {
          values[k] = Float16.toFloat(buf.getShort());
        }
      } else if (valueEncoding == FLOAT32_VALUES) {
        buf.asFloatBuffer().get(values);
        buf.position(buf.position() + 4 * values.length);
      } else {
        throw new IllegalArgumentException("hidden state values encoded as " + valueEncoding + ", not 0 or 1");
      }
      float[] features = readFloats(buf);
      byte tokensTag = buf.get();
      TokenizedText tokens = switch (tokensTag) {
        case NO_TOKENS -> null;
        case BATCH_TOKENS -> batchTokens.get(i);
        case OWN_TOKENS -> readTokens(buf);
        default -> throw new IllegalArgumentException("hidden state tokens tagged " + tokensTag);
      };
      states.add(new HiddenState(values, length, hiddenSize, features, tokens));
    }
    return states;
  }

  static void writeTokens(TokenizedText t, ByteBuffer buf) {
    buf.putInt(t.length());
    boolean ints = fitInts(t.ids()) && (t.typeIds() == null || fitInts(t.typeIds()));
    buf.put((byte) ((t.truncated() ? 1 : 0) | (t.typeIds() == null ? 2 : 0)));
    buf.put(ints ? IDS_AS_INTS : IDS_AS_LONGS);
    putIds(t.ids(), ints, buf);
    if (t.typeIds() != null) {
      buf.putInt(t.typeIds().length);
      putIds(t.typeIds(), ints, buf);
    }
  }

  static TokenizedText readTokens(ByteBuffer buf) {
    int length = buf.getInt();
    byte flags = buf.get();
    boolean ints = buf.get() == IDS_AS_INTS;
    long[] ids = getIds(length, ints, buf);
    long[] typeIds = (flags & 2) != 0 ? null : getIds(buf.getInt(), ints, buf);
    return new TokenizedText(ids, typeIds, (flags & 1) != 0);
  }

  static boolean fitInts(long[] values) {
    for (long v : values) {
      if (v != (int) v) {
        return false;
      }
    }
    return true;
  }

  static void putIds(long[] ids, boolean ints, ByteBuffer buf) {
    if (ints) {
      for (long id : ids) {
        buf.putInt((int) id);
      }
    } else {
      buf.asLongBuffer().put(ids);
      buf.position(buf.position() + 8 * ids.length);
    }
  }

  static long[] getIds(int n, boolean ints, ByteBuffer buf) {
    long[] ids = new long[n];
    if (ints) {
      for (int i = 0; i < n; i++) {
        ids[i] = buf.getInt();
      }
    } else {
      buf.asLongBuffer().get(ids);
      buf.position(buf.position() + 8 * n);
    }
    return ids;
  }

  static void writeFloats(float[] values, ByteBuffer buf) {
    if (values == null) {
      buf.putInt(-1);
    } else {
      buf.putInt(values.length);
      putFloats(values, buf);
    }
  }

  static void putFloats(float[] values, ByteBuffer buf) {
    buf.asFloatBuffer().put(values); // one bulk copy: the buffer is little-endian, as the floats are on x86 and ARM
    buf.position(buf.position() + 4 * values.length);
  }

  static float[] readFloats(ByteBuffer buf) {
    int n = buf.getInt();
    if (n < 0) {
      return null;
    }
    float[] values = new float[n];
    buf.asFloatBuffer().get(values);
    buf.position(buf.position() + 4 * n);
    return values;
  }

  static void writeString(String s, ByteBuffer buf) {
    if (s == null) {
      buf.putInt(-1);
    } else {
      byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
      buf.putInt(utf8.length);
      buf.put(utf8);
    }
  }

  static String readString(ByteBuffer buf) {
    int n = buf.getInt();
    if (n < 0) {
      return null;
    }
    byte[] utf8 = new byte[n];
    buf.get(utf8);
    return new String(utf8, StandardCharsets.UTF_8);
  }

  static int statesSize(List<HiddenState> states, List<TokenizedText> batchTokens, boolean half) {
    int size = 4;
    if (states != null) {
      for (int i = 0; i < states.size(); i++) {
        HiddenState s = states.get(i);
        size += 4 + 4 + 1 + s.values().length * (half ? 2 : 4) + floatsSize(s.features()) + 1;
        if (s.tokens() != null && !(batchTokens != null && i < batchTokens.size() && s.tokens() == batchTokens.get(i))) {
          size += tokensSize(s.tokens());
        }
      }
    }
    return size;
  }

  static int tokensSize(TokenizedText t) {
    boolean ints = fitInts(t.ids()) && (t.typeIds() == null || fitInts(t.typeIds()));
    int width = ints ? 4 : 8;
    return 4 + 1 + 1 + width * t.ids().length + (t.typeIds() == null ? 0 : 4 + width * t.typeIds().length);
  }

  static int floatsSize(float[] values) {
    return 4 + (values == null ? 0 : 4 * values.length);
  }

  static int stringSize(String s) {
    return 4 + (s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length);
  }
}
