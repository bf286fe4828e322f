package dev.exitflow.actors;

import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import java.io.NotSerializableException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

  private boolean half() {
    return encoding == Encoding.FLOAT16;
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
        WireParts.writeString(ref(f.worker()), buf);
        buf.putLong(f.batchId());
        WireParts.writeString(f.error(), buf);
        buf.put((byte) (f.ran() ? 1 : 0));
      } else if (o instanceof StageWorker.Ready r) {
        buf.putInt(r.stage());
        WireParts.writeString(ref(r.worker()), buf);
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
        case BATCH_FAILED -> new StageWorker.BatchFailed(buf.getInt(), resolve(WireParts.readString(buf)), buf.getLong(),
            WireParts.readString(buf), buf.get() != 0);
        case READY -> new StageWorker.Ready(buf.getInt(), resolve(WireParts.readString(buf)));
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
    // Bit 4 says "no states back", so a node of the version before it (which never sets it) still gets them;
    // a node that ignores bit 8 (through) runs its own stage only, and its reply says so.
    buf.put((byte) ((r.collectFeatures() ? 1 : 0) | (r.exitHere() ? 2 : 0) | (r.statesBack() ? 0 : 4)
        | (r.through() ? 8 : 0)));
    WireParts.writeString(ref(r.replyTo()), buf);
    buf.putInt(r.tokens().size());
    for (TokenizedText t : r.tokens()) {
      WireParts.writeTokens(t, buf);
    }
    WireParts.writeStates(r.states(), r.tokens(), half(), buf);
  }

  private StageWorker.Run readRun(ByteBuffer buf) {
    long batchId = buf.getLong();
    byte flags = buf.get();
    ActorRef<StageWorker.Outcome> replyTo = resolve(WireParts.readString(buf));
    int n = buf.getInt();
    List<TokenizedText> tokens = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      tokens.add(WireParts.readTokens(buf));
    }
    List<HiddenState> states = WireParts.readStates(buf, tokens);
    return new StageWorker.Run(batchId, tokens, states, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) == 0,
        (flags & 8) != 0, replyTo);
  }

  private void writeBatchDone(StageWorker.BatchDone d, ByteBuffer buf) {
    buf.putInt(d.stage());
    WireParts.writeString(ref(d.worker()), buf);
    buf.putLong(d.batchId());
    WireParts.writeStates(d.states(), null, half(), buf);
    if (d.embeddings() == null) {
      buf.putInt(-1);
    } else {
      buf.putInt(d.embeddings().size());
      for (float[] e : d.embeddings()) {
        WireParts.writeFloats(e, buf);
      }
    }
    buf.putInt(d.paddedTokens());
    buf.putLong(d.computeNanos());
    // Last, so that a node of the version before them reads the rest as it did.
    buf.put((byte) (d.through() ? 1 : 0));
    buf.putLong(d.firstStageNanos());
  }

  private StageWorker.BatchDone readBatchDone(ByteBuffer buf) {
    int stage = buf.getInt();
    ActorRef<StageWorker.Command> worker = resolve(WireParts.readString(buf));
    long batchId = buf.getLong();
    List<HiddenState> states = WireParts.readStates(buf, null);
    int n = buf.getInt();
    List<float[]> embeddings = null;
    if (n >= 0) {
      embeddings = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        embeddings.add(WireParts.readFloats(buf));
      }
    }
    int paddedTokens = buf.getInt();
    long computeNanos = buf.getLong();
    if (buf.remaining() < 9) { // from a node of the version before runs through a stage
      return new StageWorker.BatchDone(stage, worker, batchId, states, embeddings, paddedTokens, computeNanos);
    }
    return new StageWorker.BatchDone(stage, worker, batchId, states, embeddings, paddedTokens, computeNanos,
        buf.get() != 0, buf.getLong());
  }

  // ---- sizes, for the array form (Artery writes into its own buffer and needs none)

  private int size(Object o) {
    if (o instanceof StageWorker.Run r) {
      int size = 8 + 1 + WireParts.stringSize(ref(r.replyTo())) + 4;
      for (TokenizedText t : r.tokens()) {
        size += WireParts.tokensSize(t);
      }
      return size + WireParts.statesSize(r.states(), r.tokens(), half());
    } else if (o instanceof StageWorker.BatchDone d) {
      int size = 4 + WireParts.stringSize(ref(d.worker())) + 8 + WireParts.statesSize(d.states(), null, half()) + 4 + 4 + 8
          + 1 + 8;
      if (d.embeddings() != null) {
        for (float[] e : d.embeddings()) {
          size += WireParts.floatsSize(e);
        }
      }
      return size;
    } else if (o instanceof StageWorker.BatchFailed f) {
      return 4 + WireParts.stringSize(ref(f.worker())) + 8 + WireParts.stringSize(f.error()) + 1;
    } else if (o instanceof StageWorker.Ready r) {
      return 4 + WireParts.stringSize(ref(r.worker()));
    }
    throw new IllegalArgumentException("WorkerMessageSerializer cannot serialize " + o.getClass().getName());
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
