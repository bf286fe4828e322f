package dev.exitflow.actors;

import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import java.io.NotSerializableException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.ByteBufferSerializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * The wire form of the {@link WorkerMessage}s between a scheduler and stage workers on other nodes:
 * little-endian binary, hidden states as raw floats copied in bulk (or as IEEE half floats when
 * {@code exitflow.cluster.hidden-state-encoding = float16}), token ids as ints, actor references
 * in Pekko's string form. As a {@link ByteBufferSerializer}, Artery has it write straight into its
 * envelope buffer and read straight out of it, with no intermediate byte array.
 *
 * <p>Each hidden state says how its values are encoded, so nodes with different settings read
 * each other's batches. A text's tokens that are the very same object as the batch's own (a state
 * that was not pruned) are written once and come back as one object.
 */
public final class WorkerMessageSerializer extends SerializerWithStringManifest implements ByteBufferSerializer {
  /** Pekko's serializer id for this class: any number above 40 not used by another serializer. */
  public static final int IDENTIFIER = 0x45464c57; // "EFLW"

  static final String RUN = "R";
  static final String BATCH_DONE = "D";
  static final String BATCH_FAILED = "F";
  static final String READY = "Y";

  /** How hidden-state values are written. */
  public enum Encoding {
    FLOAT32, FLOAT16;

    static Encoding parse(String value) {
      return switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "float32" -> FLOAT32;
        case "float16" -> FLOAT16;
        default -> throw new IllegalArgumentException(
            "exitflow.cluster.hidden-state-encoding: '" + value + "' is not float32 or float16");
      };
    }
  }

  static final String ENCODING_SETTING = "exitflow.cluster.hidden-state-encoding";

  private static final byte FLOAT32_VALUES = 0;
  private static final byte FLOAT16_VALUES = 1;
  private static final byte NO_TOKENS = 0;
  private static final byte OWN_TOKENS = 1;
  private static final byte BATCH_TOKENS = 2;
  private static final byte IDS_AS_INTS = 1;
  private static final byte IDS_AS_LONGS = 2;

  private final ExtendedActorSystem system;
  private final Encoding encoding;
  /** Created on first use: the typed system is not complete while serializers are being made. */
  private volatile ActorRefResolver resolver;

  public WorkerMessageSerializer(ExtendedActorSystem system) {
    this.system = system;
    var config = system.settings().config();
    this.encoding = config.hasPath(ENCODING_SETTING) ? Encoding.parse(config.getString(ENCODING_SETTING))
        : Encoding.FLOAT32;
  }

  public Encoding encoding() {
    return encoding;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof StageWorker.Run) {
      return RUN;
    } else if (o instanceof StageWorker.BatchDone) {
      return BATCH_DONE;
    } else if (o instanceof StageWorker.BatchFailed) {
      return BATCH_FAILED;
    } else if (o instanceof StageWorker.Ready) {
      return READY;
    }
    throw new IllegalArgumentException("WorkerMessageSerializer cannot serialize " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    byte[] bytes = new byte[size(o)];
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    toBinary(o, buf);
    if (buf.hasRemaining()) {
      throw new IllegalStateException("serialized " + o.getClass().getSimpleName() + " in " + buf.position()
          + " bytes, not the " + bytes.length + " computed");
    }
    return bytes;
  }

  @Override
  public void toBinary(Object o, ByteBuffer buf) {
    ByteOrder order = buf.order();
    buf.order(ByteOrder.LITTLE_ENDIAN);
    try {
      if (o instanceof StageWorker.Run r) {
        writeRun(r, buf);
      } else if (o instanceof StageWorker.BatchDone d) {
        writeBatchDone(d, buf);
      } else if (o instanceof StageWorker.BatchFailed f) {
        buf.putInt(f.stage());
        writeString(ref(f.worker()), buf);
        buf.putLong(f.batchId());
        writeString(f.error(), buf);
        buf.put((byte) (f.ran() ? 1 : 0));
      } else if (o instanceof StageWorker.Ready r) {
        buf.putInt(r.stage());
        writeString(ref(r.worker()), buf);
      } else {
        throw new IllegalArgumentException("WorkerMessageSerializer cannot serialize " + o.getClass().getName());
      }
    } finally {
      buf.order(order);
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    return fromBinary(ByteBuffer.wrap(bytes), manifest);
  }

  @Override
  public Object fromBinary(ByteBuffer buf, String manifest) throws NotSerializableException {
    ByteOrder order = buf.order();
    buf.order(ByteOrder.LITTLE_ENDIAN);
    try {
      return switch (manifest) {
        case RUN -> readRun(buf);
        case BATCH_DONE -> readBatchDone(buf);
        case BATCH_FAILED -> new StageWorker.BatchFailed(buf.getInt(), resolve(readString(buf)), buf.getLong(),
            readString(buf), buf.get() != 0);
        case READY -> new StageWorker.Ready(buf.getInt(), resolve(readString(buf)));
        default -> throw new NotSerializableException("WorkerMessageSerializer: unknown manifest '" + manifest
            + "' (a node of another Exitflow version?); known: " + String.join(", ", RUN, BATCH_DONE, BATCH_FAILED, READY));
      };
    } finally {
      buf.order(order);
    }
  }

  // ---- messages

  private void writeRun(StageWorker.Run r, ByteBuffer buf) {
    buf.putLong(r.batchId());
    buf.put((byte) ((r.collectFeatures() ? 1 : 0) | (r.exitHere() ? 2 : 0)));
    writeString(ref(r.replyTo()), buf);
    buf.putInt(r.tokens().size());
    for (TokenizedText t : r.tokens()) {
      writeTokens(t, buf);
    }
    writeStates(r.states(), r.tokens(), buf);
  }

  private StageWorker.Run readRun(ByteBuffer buf) {
    long batchId = buf.getLong();
    byte flags = buf.get();
    ActorRef<StageWorker.Outcome> replyTo = resolve(readString(buf));
    int n = buf.getInt();
    List<TokenizedText> tokens = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      tokens.add(readTokens(buf));
    }
    List<HiddenState> states = readStates(buf, tokens);
    return new StageWorker.Run(batchId, tokens, states, (flags & 1) != 0, (flags & 2) != 0, replyTo);
  }

  private void writeBatchDone(StageWorker.BatchDone d, ByteBuffer buf) {
    buf.putInt(d.stage());
    writeString(ref(d.worker()), buf);
    buf.putLong(d.batchId());
    writeStates(d.states(), null, buf);
    if (d.embeddings() == null) {
      buf.putInt(-1);
    } else {
      buf.putInt(d.embeddings().size());
      for (float[] e : d.embeddings()) {
        writeFloats(e, buf);
      }
    }
    buf.putInt(d.paddedTokens());
    buf.putLong(d.computeNanos());
  }

  private StageWorker.BatchDone readBatchDone(ByteBuffer buf) {
    int stage = buf.getInt();
    ActorRef<StageWorker.Command> worker = resolve(readString(buf));
    long batchId = buf.getLong();
    List<HiddenState> states = readStates(buf, null);
    int n = buf.getInt();
    List<float[]> embeddings = null;
    if (n >= 0) {
      embeddings = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        embeddings.add(readFloats(buf));
      }
    }
    return new StageWorker.BatchDone(stage, worker, batchId, states, embeddings, buf.getInt(), buf.getLong());
  }

  // ---- parts

  private void writeStates(List<HiddenState> states, List<TokenizedText> batchTokens, ByteBuffer buf) {
    if (states == null) {
      buf.putInt(-1);
      return;
    }
    buf.putInt(states.size());
    for (int i = 0; i < states.size(); i++) {
      HiddenState s = states.get(i);
      buf.putInt(s.length());
      buf.putInt(s.hiddenSize());
      if (encoding == Encoding.FLOAT16) {
        buf.put(FLOAT16_VALUES);
        short[] halves = new short[s.values().length];
        float[] v = s.values();
        for (int k = 0; k < v.length; k++) {
          halves[k] = Float16.fromFloat(v[k]);
        }
        buf.asShortBuffer().put(halves);
        buf.position(buf.position() + 2 * halves.length);
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

  private static List<HiddenState> readStates(ByteBuffer buf, List<TokenizedText> batchTokens) {
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
        short[] halves = new short[values.length];
        buf.asShortBuffer().get(halves);
        buf.position(buf.position() + 2 * halves.length);
        for (int k = 0; k < halves.length; k++) {
          values[k] = Float16.toFloat(halves[k]);
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

  private static void writeTokens(TokenizedText t, ByteBuffer buf) {
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

  private static TokenizedText readTokens(ByteBuffer buf) {
    int length = buf.getInt();
    byte flags = buf.get();
    boolean ints = buf.get() == IDS_AS_INTS;
    long[] ids = getIds(length, ints, buf);
    long[] typeIds = (flags & 2) != 0 ? null : getIds(buf.getInt(), ints, buf);
    return new TokenizedText(ids, typeIds, (flags & 1) != 0);
  }

  private static boolean fitInts(long[] values) {
    for (long v : values) {
      if (v != (int) v) {
        return false;
      }
    }
    return true;
  }

  private static void putIds(long[] ids, boolean ints, ByteBuffer buf) {
    if (ints) {
      for (long id : ids) {
        buf.putInt((int) id);
      }
    } else {
      buf.asLongBuffer().put(ids);
      buf.position(buf.position() + 8 * ids.length);
    }
  }

  private static long[] getIds(int n, boolean ints, ByteBuffer buf) {
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

  private static void writeFloats(float[] values, ByteBuffer buf) {
    if (values == null) {
      buf.putInt(-1);
    } else {
      buf.putInt(values.length);
      putFloats(values, buf);
    }
  }

  private static void putFloats(float[] values, ByteBuffer buf) {
    buf.asFloatBuffer().put(values); // one bulk copy: the buffer is little-endian, as the floats are on x86 and ARM
    buf.position(buf.position() + 4 * values.length);
  }

  private static float[] readFloats(ByteBuffer buf) {
    int n = buf.getInt();
    if (n < 0) {
      return null;
    }
    float[] values = new float[n];
    buf.asFloatBuffer().get(values);
    buf.position(buf.position() + 4 * n);
    return values;
  }

  private static void writeString(String s, ByteBuffer buf) {
    if (s == null) {
      buf.putInt(-1);
    } else {
      byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
      buf.putInt(utf8.length);
      buf.put(utf8);
    }
  }

  private static String readString(ByteBuffer buf) {
    int n = buf.getInt();
    if (n < 0) {
      return null;
    }
    byte[] utf8 = new byte[n];
    buf.get(utf8);
    return new String(utf8, StandardCharsets.UTF_8);
  }

  // ---- sizes, for the array form (Artery writes into its own buffer and needs none)

  private int size(Object o) {
    if (o instanceof StageWorker.Run r) {
      int size = 8 + 1 + stringSize(ref(r.replyTo())) + 4;
      for (TokenizedText t : r.tokens()) {
        size += tokensSize(t);
      }
      return size + statesSize(r.states(), r.tokens());
    } else if (o instanceof StageWorker.BatchDone d) {
      int size = 4 + stringSize(ref(d.worker())) + 8 + statesSize(d.states(), null) + 4 + 4 + 8;
      if (d.embeddings() != null) {
        for (float[] e : d.embeddings()) {
          size += floatsSize(e);
        }
      }
      return size;
    } else if (o instanceof StageWorker.BatchFailed f) {
      return 4 + stringSize(ref(f.worker())) + 8 + stringSize(f.error()) + 1;
    } else if (o instanceof StageWorker.Ready r) {
      return 4 + stringSize(ref(r.worker()));
    }
    throw new IllegalArgumentException("WorkerMessageSerializer cannot serialize " + o.getClass().getName());
  }

  private int statesSize(List<HiddenState> states, List<TokenizedText> batchTokens) {
    int size = 4;
    if (states != null) {
      for (int i = 0; i < states.size(); i++) {
        HiddenState s = states.get(i);
        size += 4 + 4 + 1 + s.values().length * (encoding == Encoding.FLOAT16 ? 2 : 4) + floatsSize(s.features()) + 1;
        if (s.tokens() != null && !(batchTokens != null && i < batchTokens.size() && s.tokens() == batchTokens.get(i))) {
          size += tokensSize(s.tokens());
        }
      }
    }
    return size;
  }

  private static int tokensSize(TokenizedText t) {
    boolean ints = fitInts(t.ids()) && (t.typeIds() == null || fitInts(t.typeIds()));
    int width = ints ? 4 : 8;
    return 4 + 1 + 1 + width * t.ids().length + (t.typeIds() == null ? 0 : 4 + width * t.typeIds().length);
  }

  private static int floatsSize(float[] values) {
    return 4 + (values == null ? 0 : 4 * values.length);
  }

  private static int stringSize(String s) {
    return 4 + (s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length);
  }

  // ---- actor references

  private String ref(ActorRef<?> ref) {
    return ref == null ? null : resolver().toSerializationFormat(ref);
  }

  private <T> ActorRef<T> resolve(String path) {
    return path == null ? null : resolver().resolveActorRef(path);
  }

  private ActorRefResolver resolver() {
    ActorRefResolver r = resolver;
    if (r == null) {
      r = ActorRefResolver.get(Adapter.toTyped(system));
      resolver = r;
    }
    return r;
  }
}
