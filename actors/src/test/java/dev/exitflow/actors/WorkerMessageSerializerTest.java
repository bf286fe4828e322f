package dev.exitflow.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import java.io.NotSerializableException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every {@link WorkerMessage} through Pekko's serialization as a cluster node configures it (the
 * bindings of reference.conf, a cluster provider on 127.0.0.1): float32 states come back bit for
 * bit, float16 ones within half a half-float step, and the ByteBuffer form Artery uses reads what
 * it wrote.
 */
class WorkerMessageSerializerTest {
  private static ActorTestKit float32;
  private static ActorTestKit float16;

  @BeforeAll
  static void start() {
    float32 = ActorTestKit.create("serialization32", nodeConfig("float32"));
    float16 = ActorTestKit.create("serialization16", nodeConfig("float16"));
  }

  @AfterAll
  static void stop() {
    float32.shutdownTestKit();
    float16.shutdownTestKit();
  }

  /** A cluster node's actor system configuration that joins nobody. */
  private static Config nodeConfig(String encoding) {
    Config config = ConfigFactory.parseString("exitflow.cluster { enabled = on, roles = [worker], port = 0, "
            + "host = \"127.0.0.1\", hidden-state-encoding = " + encoding + " }\n"
            + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n")
        .withFallback(ConfigFactory.load());
    return ClusterSettings.create(config).actorSystemConfig(config);
  }

  private static final Random RANDOM = new Random(16);

  private static float[] floats(int n, boolean special) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (RANDOM.nextGaussian() * 3);
    }
    if (special) {
      v[0] = -0.0f;
      v[1] = Float.intBitsToFloat(0x7fc01234); // a NaN with a payload
      v[2] = Float.MIN_VALUE;
      v[3] = Float.NEGATIVE_INFINITY;
      v[4] = Float.MAX_VALUE;
    }
    return v;
  }

  private static TokenizedText tokens(int n, boolean truncated) {
    long[] ids = new long[n];
    long[] types = new long[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i == 0 ? 101 : i == n - 1 ? 102 : 1000 + RANDOM.nextInt(29000);
      types[i] = i % 2;
    }
    return new TokenizedText(ids, types, truncated);
  }

  private static final int HIDDEN = 8;

  /** A batch of three texts: a state on the batch's own tokens, one pruned to fewer, one without features. */
  private static StageWorker.Run run(ActorRef<StageWorker.Outcome> replyTo, boolean special) {
    List<TokenizedText> tokens = List.of(tokens(7, false), tokens(12, true), tokens(3, false));
    TokenizedText pruned = tokens(9, true);
    List<HiddenState> states = List.of(
        new HiddenState(floats(7 * HIDDEN, special), 7, HIDDEN, floats(2 * HIDDEN, special), tokens.get(0)),
        new HiddenState(floats(9 * HIDDEN, false), 9, HIDDEN, floats(2 * HIDDEN, false), pruned),
        new HiddenState(floats(3 * HIDDEN, false), 3, HIDDEN, null, null));
    return new StageWorker.Run(42L << 33, tokens, states, true, false, true, replyTo);
  }

  private static List<WorkerMessage> everyMessage(ActorTestKit kit) {
    ActorRef<StageWorker.Outcome> scheduler = kit.<StageWorker.Outcome>createTestProbe().getRef();
    ActorRef<StageWorker.Command> worker = kit.<StageWorker.Command>createTestProbe().getRef();
    StageWorker.Run run = run(scheduler, true);
    return List.of(
        run,
        new StageWorker.Run(7, List.of(tokens(5, false)), null, false, true, false, scheduler), // stage 1: no states yet
        new StageWorker.Run(13, List.of(tokens(5, false)), null, true, true, true, true, scheduler), // through stage 2
        new StageWorker.BatchDone(2, worker, 9, run.states(), List.of(floats(384, true), floats(384, false)), 36,
            123_456_789_012L),
        new StageWorker.BatchDone(2, worker, 8, null, List.of(floats(384, false)), 12, 3), // last stage: no states back
        new StageWorker.BatchDone(0, worker, 10, run.states(), null, 21, 5),
        new StageWorker.BatchDone(0, worker, 14, run.states(), List.of(floats(384, false)), 21, 9_000_000_007L, true,
            4_000_000_003L), // ran through stage 2
        new StageWorker.BatchFailed(1, worker, 11, "ORT failed: ünïcode ✓", true),
        new StageWorker.BatchFailed(1, worker, 12, null, false),
        new StageWorker.Ready(3, worker));
  }

  private static Serialization serialization(ActorTestKit kit) {
    return SerializationExtension.get(kit.system());
  }

  private static Object roundTrip(ActorTestKit kit, Object message) {
    Serialization s = serialization(kit);
    Serializer serializer = s.findSerializerFor(message);
    assertInstanceOf(WorkerMessageSerializer.class, serializer, message.getClass() + " is bound to Exitflow's serializer");
    byte[] bytes = s.serialize(message).get();
    return s.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message)).get();
  }

  @Test
  void everyMessageTypeComesBackWithEveryFieldAndFloat32StatesBitForBit() {
    Set<String> covered = new TreeSet<>();
    for (WorkerMessage m : everyMessage(float32)) {
      Object back = roundTrip(float32, m);
      assertSameMessage(m, back, 0);
      covered.add(m.getClass().getName());
    }
    assertEquals(leafTypes(WorkerMessage.class), covered, "every kind of WorkerMessage is tested here");
  }

  @Test
  void float16StatesComeBackWithinHalfAStepAndEverythingElseExactly() {
    for (WorkerMessage m : everyMessage(float16)) {
      if (m instanceof StageWorker.Run r && r.states() != null) {
        m = run(r.replyTo(), false); // the specials are outside half precision's range
      }
      if (m instanceof StageWorker.BatchDone d && d.states() != null) {
        m = new StageWorker.BatchDone(d.stage(), d.worker(), d.batchId(), run(null, false).states(), d.embeddings(),
            d.paddedTokens(), d.computeNanos(), d.through(), d.firstStageNanos());
      }
      assertSameMessage(m, roundTrip(float16, m), 0x1p-11);
    }
  }

  @Test
  void float16HalvesTheStatesAndAFloat32NodeReadsThem() {
    StageWorker.Run run = run(null, false);
    byte[] half = serialization(float16).serialize(run).get();
    byte[] full = serialization(float32).serialize(run).get();
    int values = run.states().stream().mapToInt(s -> s.values().length).sum();
    assertEquals(2 * values, full.length - half.length);
    Object back = serialization(float32).deserialize(half, WorkerMessageSerializer.IDENTIFIER,
        WorkerMessageSerializer.RUN).get();
    assertSameMessage(run, back, 0x1p-11);
  }

  @Test
  void aBatchDoneWithoutStatesCarriesNoStateBytes() {
    ActorRef<StageWorker.Command> worker = float32.<StageWorker.Command>createTestProbe().getRef();
    StageWorker.Run run = run(null, false);
    List<float[]> embeddings = List.of(floats(384, false), floats(384, false), floats(384, false));
    Serialization s = serialization(float32);
    byte[] with = s.serialize(new StageWorker.BatchDone(2, worker, 1, run.states(), embeddings, 36, 5)).get();
    byte[] without = s.serialize(new StageWorker.BatchDone(2, worker, 1, null, embeddings, 36, 5)).get();
    int values = run.states().stream().mapToInt(h -> h.values().length).sum();
    assertTrue(with.length - without.length > 4 * values,
        with.length + " bytes with the states, " + without.length + " without");
    assertTrue(without.length < 4 * 3 * 384 + 200, "little more than the embeddings: " + without.length);
  }

  /** A node of the version before statesBack never sets the flag's bit: its runs must still get states back. */
  @Test
  void aRunFlaggedAsByTheVersionBeforeAsksForStatesBack() {
    StageWorker.Run run = run(null, false);
    Serialization s = serialization(float32);
    byte[] bytes = s.serialize(run).get();
    assertEquals(0, bytes[8] & 4, "the flags byte after the batch id has no bit 4 when states go back");
    StageWorker.Run back = (StageWorker.Run) s.deserialize(bytes, WorkerMessageSerializer.IDENTIFIER,
        WorkerMessageSerializer.RUN).get();
    assertTrue(back.statesBack());
    bytes[8] |= 4;
    StageWorker.Run none = (StageWorker.Run) s.deserialize(bytes, WorkerMessageSerializer.IDENTIFIER,
        WorkerMessageSerializer.RUN).get();
    assertTrue(!none.statesBack() && none.collectFeatures() && !none.exitHere());
  }

  /** A node of the version before runs through a stage ends a BatchDone at its compute time: it ran its own stage. */
  @Test
  void aBatchDoneAsTheVersionBeforeWroteItRanItsOwnStage() {
    ActorRef<StageWorker.Command> worker = float32.<StageWorker.Command>createTestProbe().getRef();
    Serialization s = serialization(float32);
    byte[] now = s.serialize(new StageWorker.BatchDone(0, worker, 3, null, List.of(floats(384, false)), 12, 77, true,
        40)).get();
    byte[] before = java.util.Arrays.copyOf(now, now.length - 9); // without the through flag and first stage's time
    StageWorker.BatchDone back = (StageWorker.BatchDone) s.deserialize(before, WorkerMessageSerializer.IDENTIFIER,
        WorkerMessageSerializer.BATCH_DONE).get();
    assertTrue(!back.through() && back.lastStage() == 0);
    assertEquals(77, back.firstStageNanos(), "all of its compute was its own stage's");
  }

  /** As Artery does: straight into a direct buffer after its header, and out of it. */
  @Test
  void theByteBufferFormReadsWhatItWroteAndLeavesTheBufferAsItFoundIt() throws Exception {
    WorkerMessageSerializer serializer = (WorkerMessageSerializer) serialization(float32).serializerFor(
        StageWorker.Run.class);
    for (WorkerMessage m : everyMessage(float32)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.BIG_ENDIAN);
      buf.position(28);
      serializer.toBinary(m, buf);
      assertEquals(ByteOrder.BIG_ENDIAN, buf.order());
      int end = buf.position();
      assertEquals(28 + serializer.toBinary(m).length, end, "both forms write the same bytes");
      buf.flip().position(28);
      Object back = serializer.fromBinary(buf, serializer.manifest(m));
      assertEquals(end, buf.position(), "read to the end of the message");
      assertEquals(ByteOrder.BIG_ENDIAN, buf.order());
      assertSameMessage(m, back, 0);
    }
  }

  @Test
  void anUnknownManifestIsRefusedByName() throws Exception {
    WorkerMessageSerializer serializer = (WorkerMessageSerializer) serialization(float32).serializerFor(
        StageWorker.Ready.class);
    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(new byte[8], "Q"));
    assertTrue(e.getMessage().contains("unknown manifest 'Q'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> serializer.manifest("not a worker message"));
  }

  @Test
  void float16ConversionRoundsToNearestEvenAndIsExactBack() {
    for (int h = 0; h < 0x10000; h++) {
      float f = Float16.toFloat((short) h);
      if (Float.isNaN(f)) {
        assertTrue(Float.isNaN(Float16.toFloat(Float16.fromFloat(f))), "NaN " + Integer.toHexString(h));
        continue;
      }
      assertEquals(h, Float16.fromFloat(f) & 0xffff, "half " + Integer.toHexString(h) + " = " + f);
      if ((h & 0x7fff) < 0x7bff) { // finite, as is the next: their midpoint (exact in a float) goes to the even one
        float next = Float16.toFloat((short) (h + 1));
        float mid = (f + next) / 2;
        int even = (h & 1) == 0 ? h : h + 1;
        assertEquals(even, Float16.fromFloat(mid) & 0xffff, "midpoint after " + Integer.toHexString(h));
        boolean positive = (h & 0x8000) == 0;
        float below = positive ? Math.nextDown(mid) : Math.nextUp(mid); // nearer this half
        float above = positive ? Math.nextUp(mid) : Math.nextDown(mid);
        assertEquals(h, Float16.fromFloat(below) & 0xffff, "just before the midpoint after " + Integer.toHexString(h));
        assertEquals(h + 1, Float16.fromFloat(above) & 0xffff, "just past the midpoint after " + Integer.toHexString(h));
      }
    }
    assertEquals(0x7c00, Float16.fromFloat(Float.MAX_VALUE) & 0xffff);
    assertEquals(0x7bff, Float16.fromFloat(65519.99f) & 0xffff);
    assertEquals(0x7c00, Float16.fromFloat(65520f) & 0xffff, "the midpoint from the largest half to 65536 goes up");
    assertEquals(0xfc00, Float16.fromFloat(-65520f) & 0xffff);
    assertEquals(0x8000, Float16.fromFloat(-1e-30f) & 0xffff);
    assertEquals(0x3c00, Float16.fromFloat(1f) & 0xffff);
    assertEquals(0.333251953125f, Float16.toFloat(Float16.fromFloat(1f / 3)));
  }

  // ---- comparisons

  private static Set<String> leafTypes(Class<?> type) {
    Set<String> leaves = new TreeSet<>();
    if (type.isSealed()) {
      for (Class<?> sub : type.getPermittedSubclasses()) {
        leaves.addAll(leafTypes(sub));
      }
    } else {
      leaves.add(type.getName());
    }
    return leaves;
  }

  /** Equal field by field; state values within {@code relative} of their magnitude (0: bit for bit). */
  private static void assertSameMessage(Object expected, Object actual, double relative) {
    assertEquals(expected.getClass(), actual.getClass());
    if (expected instanceof StageWorker.Run e) {
      StageWorker.Run a = (StageWorker.Run) actual;
      assertEquals(e.batchId(), a.batchId());
      assertEquals(e.collectFeatures(), a.collectFeatures());
      assertEquals(e.exitHere(), a.exitHere());
      assertEquals(e.statesBack(), a.statesBack());
      assertEquals(e.through(), a.through());
      assertEquals(e.replyTo(), a.replyTo());
      assertEquals(e.tokens().size(), a.tokens().size());
      for (int i = 0; i < e.tokens().size(); i++) {
        assertSameTokens(e.tokens().get(i), a.tokens().get(i));
      }
      assertSameStates(e.states(), a.states(), relative);
      if (e.states() != null) {
        for (int i = 0; i < e.states().size(); i++) {
          assertEquals(e.states().get(i).tokens() == e.tokens().get(i), a.states().get(i).tokens() == a.tokens().get(i),
              "a state on the batch's own tokens shares them, as before");
        }
      }
    } else if (expected instanceof StageWorker.BatchDone e) {
      StageWorker.BatchDone a = (StageWorker.BatchDone) actual;
      assertEquals(e.stage(), a.stage());
      assertEquals(e.worker(), a.worker());
      assertEquals(e.batchId(), a.batchId());
      assertSameStates(e.states(), a.states(), relative);
      if (e.embeddings() == null) {
        assertNull(a.embeddings());
      } else {
        assertEquals(e.embeddings().size(), a.embeddings().size());
        for (int i = 0; i < e.embeddings().size(); i++) {
          assertBits(e.embeddings().get(i), a.embeddings().get(i)); // embeddings are never halved
        }
      }
      assertEquals(e.paddedTokens(), a.paddedTokens());
      assertEquals(e.computeNanos(), a.computeNanos());
      assertEquals(e.through(), a.through());
      assertEquals(e.firstStageNanos(), a.firstStageNanos());
    } else {
      assertEquals(expected, actual); // BatchFailed, Ready: records of values and refs
    }
  }

  private static void assertSameStates(List<HiddenState> expected, List<HiddenState> actual, double relative) {
    if (expected == null) {
      assertNull(actual);
      return;
    }
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      HiddenState e = expected.get(i);
      HiddenState a = actual.get(i);
      assertEquals(e.length(), a.length());
      assertEquals(e.hiddenSize(), a.hiddenSize());
      if (relative == 0) {
        assertBits(e.values(), a.values());
      } else {
        for (int k = 0; k < e.values().length; k++) {
          float x = e.values()[k];
          double bound = Math.max(Math.abs(x) * relative, 0x1p-25);
          assertTrue(Math.abs(x - a.values()[k]) <= bound, "value " + k + ": " + x + " came back " + a.values()[k]);
        }
      }
      if (e.features() == null) {
        assertNull(a.features());
      } else {
        assertBits(e.features(), a.features()); // pooled features are small and never halved
      }
      if (e.tokens() == null) {
        assertNull(a.tokens());
      } else {
        assertSameTokens(e.tokens(), a.tokens());
      }
    }
  }

  private static void assertSameTokens(TokenizedText e, TokenizedText a) {
    assertArrayEquals(e.ids(), a.ids());
    assertArrayEquals(e.typeIds(), a.typeIds());
    assertEquals(e.truncated(), a.truncated());
  }

  private static void assertBits(float[] e, float[] a) {
    int[] eb = new int[e.length];
    int[] ab = new int[a.length];
    Arrays.setAll(eb, i -> Float.floatToRawIntBits(e[i]));
    Arrays.setAll(ab, i -> Float.floatToRawIntBits(a[i]));
    assertArrayEquals(eb, ab);
  }
}
