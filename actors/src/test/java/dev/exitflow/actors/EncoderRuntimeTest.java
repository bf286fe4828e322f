package dev.exitflow.actors;

import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.runtime.StagedEncoder;
import dev.exitflow.model.tokenize.TokenizedText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The runtime end to end: real model, real ONNX Runtime sessions in real worker actors. */
class EncoderRuntimeTest {
  static final List<String> SENTENCES = List.of(
      "A man is playing a guitar.",
      "A woman is slicing an onion in the kitchen.",
      "Two dogs run across a snowy field.",
      "The stock market fell sharply on Tuesday after the announcement.",
      "Kids play.",
      "A plane is taking off from a busy airport runway at dusk.",
      "Someone is reading a book.",
      "A cat sleeps on the warm windowsill.");

  private ActorTestKit testKit;

  private EncoderRuntime start(String overrides) {
    Config config = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create(config);
    ModelDescriptor model = new ModelRepository(ModelSettings.create(config)).resolve("all-minilm-l6-v2");
    EncoderRuntime runtime = EncoderRuntime.start(testKit.system(), model, config);
    await(runtime.ready());
    return runtime;
  }

  @AfterEach
  void shutdown() {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
  }

  static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static Throwable failure(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    return fail("expected a failure");
  }

  @Test
  void servesEveryExitAndTheDeepExitMatchesTheEngine() throws Exception {
    EncoderRuntime runtime = start("");
    ModelDescriptor model = runtime.model();
    List<EmbeddingRequest> deep = SENTENCES.stream().map(s -> EmbeddingRequest.of(s, ExitPolicy.Deep.INSTANCE)).toList();
    List<EmbeddingResult> results = await(runtime.submitAll(deep));
    try (StagedEncoder engine = StagedEncoder.open(model, ModelSettings.create(ConfigFactory.load()))) {
      var expected = engine.embed(SENTENCES, "deep", null);
      for (int i = 0; i < SENTENCES.size(); i++) {
        EmbeddingResult r = results.get(i);
        assertEquals(6, r.exitLayer());
        assertEquals(ExitReason.POLICY, r.reason());
        assertEquals(expected.get(i).tokens(), r.tokens());
        assertTrue(cosine(expected.get(i).vector(), r.embedding()) > 0.9999);
        assertTrue(r.computeMs() > 0 && r.queueMs() >= 0);
      }
    }
    assertEquals(2, await(runtime.submit(EmbeddingRequest.of("hello", ExitPolicy.Shallow.INSTANCE))).exitLayer());
    assertEquals(4, await(runtime.submit(EmbeddingRequest.of("hello", new ExitPolicy.Exact(4)))).exitLayer());
    EmbeddingResult small = await(runtime.submit(new EmbeddingRequest("hello", ExitPolicy.Auto.INSTANCE, null, Priority.BULK, 64)));
    assertEquals(64, small.embedding().length);
    assertEquals(6, small.exitLayer(), "auto goes deep when idle");
  }

  @Test
  void badRequestsFailAtOnceWithTypedErrors() {
    EncoderRuntime runtime = start("");
    assertEquals("empty_input", ((InvalidInputException) failure(
        runtime.submit(EmbeddingRequest.of("  ", ExitPolicy.Deep.INSTANCE)))).code());
    assertEquals("unknown_exit", ((InvalidInputException) failure(
        runtime.submit(EmbeddingRequest.of("text", new ExitPolicy.Exact(3))))).code());
    assertEquals("dimensions_out_of_range", ((InvalidInputException) failure(
        runtime.submit(new EmbeddingRequest("text", ExitPolicy.Deep.INSTANCE, null, null, 999)))).code());
  }

  @Test
  void continuingRequestsAreRebatchedAtTheNextStage() {
    // Stage-0 batches hold 4; the deep halves of two of them meet in one stage-1 batch. Every batch
    // here fills up and leaves at once, so the long queue delay costs nothing; it only lets the first
    // two deep requests wait at stage 1 for the second stage-0 batch however slow a loaded machine is.
    // Any padding goes: these sentences differ in length, and the test counts batches of 4.
    // Without a reserve exit: the stage numbers below are the plan's (with one, stage 0 runs through to exit 2).
    EncoderRuntime runtime = start("exitflow.actors.batching { max-batch-size = 4, max-queue-delay = 20s, max-padding-share = 1 }\n"
        + "exitflow.actors.reserve-exit-layer = 0");
    List<EmbeddingRequest> wave = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      wave.add(EmbeddingRequest.of(SENTENCES.get(i), i % 2 == 0 ? ExitPolicy.Shallow.INSTANCE : ExitPolicy.Deep.INSTANCE));
    }
    List<EmbeddingResult> results = await(runtime.submitAll(wave));
    for (int i = 0; i < 8; i++) {
      assertEquals(i % 2 == 0 ? 2 : 6, results.get(i).exitLayer());
    }
    RuntimeStats stats = await(runtime.stats());
    assertEquals(2, stats.stages().get(0).batches());
    assertEquals(1, stats.stages().get(1).batches(), "4 continuing requests from 2 batches, re-batched as one");
    assertEquals(4.0, stats.stages().get(1).meanBatchSize(), 1e-9);
    assertEquals(1, stats.stages().get(2).batches());
  }

  @Test
  void lateFinishesLowerAdmissionsShareAndIdleTimeReturnsIt() {
    // Relaxation slow enough that the short idle gaps between the late requests barely undo them.
    EncoderRuntime runtime = start("exitflow.actors.auto-uses-uncalibrated-exits = true\n"
        + "exitflow.actors.admission.share-follows-lateness { step = 0.05, idle-relaxation = 1s }");
    double start = await(runtime.stats()).deadlineShare();
    for (int i = 0; i < 12; i++) { // 1 ms: too short even for an idle runtime, so admitted, and late
      await(runtime.submit(EmbeddingRequest.of(SENTENCES.get(i % SENTENCES.size()), ExitPolicy.Auto.INSTANCE)
          .withDeadlineMs(1)));
    }
    double lowered = await(runtime.stats()).deadlineShare();
    assertTrue(lowered < start - 0.3, "share " + lowered + " after 12 late finishes, from " + start);
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(50), () -> {
      assertEquals(start, await(runtime.stats()).deadlineShare(), 0.01,
          "back towards where it started while nothing is in flight");
      return null;
    });
  }

  @Test
  void autoWithATightDeadlineLeavesAtTheFirstExit() {
    EncoderRuntime runtime = start("exitflow.actors.auto-uses-uncalibrated-exits = true");
    EmbeddingResult tight = await(runtime.submit(EmbeddingRequest.of(SENTENCES.get(3), ExitPolicy.Auto.INSTANCE).withDeadlineMs(1)));
    assertEquals(2, tight.exitLayer());
    assertEquals(ExitReason.DEADLINE, tight.reason());
    EmbeddingResult deep = await(runtime.submit(EmbeddingRequest.of(SENTENCES.get(3), ExitPolicy.Deep.INSTANCE).withDeadlineMs(1)));
    assertEquals(6, deep.exitLayer(), "deep is never cut short, even past its deadline");
    EmbeddingResult roomy = await(runtime.submit(EmbeddingRequest.of(SENTENCES.get(3), ExitPolicy.Auto.INSTANCE).withDeadlineMs(10_000)));
    assertEquals(6, roomy.exitLayer());
  }

  @Test
  void behindAnUrgentBacklogAutoIsRefusedAndASoftDeadlineLeavesEarly() {
    EncoderRuntime runtime = start("exitflow.actors.auto-uses-uncalibrated-exits = true");
    List<EmbeddingRequest> warmUp = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      warmUp.add(EmbeddingRequest.of(SENTENCES.get(i % SENTENCES.size()) + " " + i, ExitPolicy.Deep.INSTANCE));
    }
    await(runtime.submitAll(warmUp)); // the stages' throughput is measured
    // 2000 deep requests due within 10 ms: seconds of work, all more urgent than what follows.
    List<EmbeddingRequest> backlog = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      backlog.add(EmbeddingRequest.of(SENTENCES.get(i % SENTENCES.size()) + " " + i, ExitPolicy.Deep.INSTANCE)
          .withDeadlineMs(10));
    }
    CompletionStage<List<EmbeddingResult>> all = runtime.submitAll(backlog);
    EmbeddingRequest late = EmbeddingRequest.of("a request that cannot make its deadline", ExitPolicy.Auto.INSTANCE)
        .withDeadlineMs(50);
    Throwable refused = failure(runtime.submit(late));
    assertInstanceOf(Overloaded.class, refused, "an interactive caller is told to retry");
    assertInstanceOf(Overloaded.class, failure(runtime.submit(late.withPriority(Priority.BULK))),
        "so is a bulk caller that named a deadline");
    // A soft deadline (a lagging Kafka record's) would only be later after a retry: it is served, early.
    EmbeddingResult soft = await(runtime.submit(late.withPriority(Priority.BULK).withSoftDeadline()));
    assertEquals(2, soft.exitLayer());
    assertEquals(2000, await(all).size());
  }

  @Test
  void withoutAdaptersAutoGoesDeepAndShallowExitsServeOnlyWhenNamed() {
    EncoderRuntime runtime = start("");
    assertTrue(runtime.exits().stream().allMatch(q -> q.adapter() == null));
    EmbeddingResult tight = await(runtime.submit(EmbeddingRequest.of(SENTENCES.get(3), ExitPolicy.Auto.INSTANCE).withDeadlineMs(1)));
    assertEquals(6, tight.exitLayer(), "an uncalibrated exit is no place for auto, even past its deadline");
    assertEquals(1.0, tight.fidelity());
    EmbeddingResult named = await(runtime.submit(EmbeddingRequest.of(SENTENCES.get(3), ExitPolicy.Shallow.INSTANCE)));
    assertEquals(2, named.exitLayer());
    assertTrue(Double.isNaN(named.fidelity()), "no adapter, no measured fidelity");
    // A floor on an exit without adapter: its fidelity is unknown, so it is refused.
    Throwable below = assertThrows(InvalidInputException.class, () -> runtime.validate(
        EmbeddingRequest.of("x", new ExitPolicy.Exact(2)).withMinFidelity(0.5)));
    assertEquals("exit_below_min_fidelity", ((InvalidInputException) below).code());
    assertEquals(6, await(runtime.submit(EmbeddingRequest.of("x", ExitPolicy.Shallow.INSTANCE)
        .withMinFidelity(0.5))).exitLayer(), "shallow with a floor: the shallowest exit meeting it, here the deep one");
  }

  @Test
  void controllerLowersDepthUnderLoadAndRestoresItAfterwards() throws Exception {
    // A 3000-request flood keeps seconds of work queued on any machine: far over a 5 ms target, so
    // the controller degrades whether the machine is fast or loaded. The requests carry a deadline
    // of ten minutes, so load alone decides where they leave (without one, auto's 250 ms). The
    // feed-forward is off: it takes this flood straight to the shallowest level, for bulk and
    // interactive alike, and the order in which the feedback takes depth is what is checked here.
    EncoderRuntime runtime = start("exitflow.actors.admission.first-stage-queue-capacity = 5000\n"
        + "exitflow.actors.depth-controller.target-queue-delay = 5ms\n"
        + "exitflow.actors.depth-controller.feed-forward-above = 0\n"
        + "exitflow.actors.auto-uses-uncalibrated-exits = true");
    List<EmbeddingRequest> flood = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      flood.add(EmbeddingRequest.of(SENTENCES.get(i % SENTENCES.size()) + " " + i, ExitPolicy.Auto.INSTANCE)
          .withPriority(i % 2 == 0 ? Priority.BULK : Priority.INTERACTIVE).withDeadlineMs(600_000));
    }
    CompletionStage<List<EmbeddingResult>> all = runtime.submitAll(flood);
    double peak = 0;
    while (!all.toCompletableFuture().isDone()) {
      peak = Math.max(peak, await(runtime.stats()).degradationLevel());
      Thread.sleep(20);
    }
    List<EmbeddingResult> results = await(all);
    assertTrue(peak > 0, "the controller degraded");
    long byLoad = results.stream().filter(r -> r.reason() == ExitReason.LOAD).count();
    assertTrue(byLoad > 0, "some auto requests left early because of load");
    double meanBulk = meanExit(results, flood, Priority.BULK);
    double meanInteractive = meanExit(results, flood, Priority.INTERACTIVE);
    assertTrue(meanBulk <= meanInteractive, "bulk degraded first: " + meanBulk + " vs " + meanInteractive);

    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    double level = await(runtime.stats()).degradationLevel();
    while (level > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
      level = await(runtime.stats()).degradationLevel();
    }
    assertEquals(0.0, level, "full depth restored when load fell");
    assertEquals(6, await(runtime.submit(EmbeddingRequest.of("calm again", ExitPolicy.Auto.INSTANCE))).exitLayer());
  }

  private static double meanExit(List<EmbeddingResult> results, List<EmbeddingRequest> requests, Priority p) {
    double sum = 0;
    int n = 0;
    for (int i = 0; i < results.size(); i++) {
      if (requests.get(i).priority() == p) {
        sum += results.get(i).exitLayer();
        n++;
      }
    }
    return sum / n;
  }

  @Test
  void rejectsWithOverloadedOnlyWhenTheFirstQueueIsFull() {
    EncoderRuntime runtime = start("exitflow.actors.admission { first-stage-queue-capacity = 16, max-in-flight = 64 }");
    List<CompletableFuture<EmbeddingResult>> futures = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      futures.add(runtime.submit(EmbeddingRequest.of(SENTENCES.get(i % 8), ExitPolicy.Deep.INSTANCE)).toCompletableFuture());
    }
    int ok = 0;
    int overloaded = 0;
    for (CompletableFuture<EmbeddingResult> f : futures) {
      try {
        assertEquals(6, f.get(60, TimeUnit.SECONDS).exitLayer());
        ok++;
      } catch (Exception e) {
        Overloaded o = assertInstanceOf(Overloaded.class, e.getCause());
        assertTrue(o.retryAfter().toMillis() > 0);
        overloaded++;
      }
    }
    assertEquals(400, ok + overloaded);
    assertTrue(ok >= 16 && overloaded > 0, ok + " served, " + overloaded + " rejected");
    assertEquals(overloaded, await(runtime.stats()).rejected());
  }

  @Test
  void aFailingBatchFailsOnlyItsRequestsAndTheWorkerComesBack() {
    EncoderRuntime runtime = start("");
    // Token id far outside the vocabulary: ONNX Runtime's Gather refuses it, a real inference failure.
    TokenizedText poison = new TokenizedText(new long[] {101, 99_999_999L, 102}, new long[3], false);
    TestProbe<StatusReply<EmbeddingResult>> probe = testKit.createTestProbe();
    runtime.scheduler().tell(new Scheduler.Submit(EmbeddingRequest.of("poison", ExitPolicy.Deep.INSTANCE), poison, System.nanoTime(), probe.getRef(), null));
    StatusReply<EmbeddingResult> reply = probe.receiveMessage(Duration.ofSeconds(30));
    assertTrue(reply.isError());
    InferenceFailed failed = assertInstanceOf(InferenceFailed.class, reply.getError());
    assertEquals("inference_failed", failed.code());
    assertTrue(failed.getMessage().contains("stage 1"), failed.getMessage());

    List<EmbeddingResult> after = await(runtime.submitAll(
        SENTENCES.stream().map(s -> EmbeddingRequest.of(s, ExitPolicy.Deep.INSTANCE)).toList()));
    assertEquals(SENTENCES.size(), after.size());
    assertEquals(1, await(runtime.stats()).failed());
  }

  /**
   * A reply's callbacks run on the actor system's dispatcher (or on the caller's thread when the
   * reply was already there), never on the common pool: on two cores that pool has one thread and
   * CompletableFuture starts a new thread for every callback given to it.
   */
  @Test
  void repliesAndStatsCompleteOnTheDispatcherNotOnTheCommonPool() {
    EncoderRuntime runtime = start("");
    String caller = Thread.currentThread().getName();
    List<CompletionStage<String>> threads = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      threads.add(runtime.stats().thenApply(s -> Thread.currentThread().getName()));
      threads.add(runtime.submit(EmbeddingRequest.of(SENTENCES.get(i % 8), ExitPolicy.Deep.INSTANCE))
          .thenApply(r -> Thread.currentThread().getName()));
    }
    for (CompletionStage<String> t : threads) {
      String name = await(t);
      assertTrue(name.equals(caller) || name.contains("pekko.actor.default-dispatcher"), name);
    }
  }

  @Test
  void stopDrainsWhatIsInFlightThenRefusesNewWork() {
    EncoderRuntime runtime = start("");
    List<CompletableFuture<EmbeddingResult>> inFlight = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      inFlight.add(runtime.submit(EmbeddingRequest.of(SENTENCES.get(i % 8) + i, ExitPolicy.Deep.INSTANCE)).toCompletableFuture());
    }
    await(runtime.stop());
    for (CompletableFuture<EmbeddingResult> f : inFlight) {
      assertTrue(f.isDone(), "drained before stop completed");
      assertEquals(6, f.join().exitLayer());
    }
    assertInstanceOf(ShuttingDown.class, failure(runtime.submit(EmbeddingRequest.of("late", ExitPolicy.Deep.INSTANCE))));
  }

  @Test
  void everyRequestGetsAReplyWhateverItAsks() {
    EncoderRuntime runtime = start("exitflow.actors.admission { first-stage-queue-capacity = 64, max-in-flight = 128 }");
    Random random = new Random(7);
    List<ExitPolicy> policies = List.of(ExitPolicy.Shallow.INSTANCE, ExitPolicy.Deep.INSTANCE, ExitPolicy.Auto.INSTANCE,
        new ExitPolicy.Exact(4), new ExitPolicy.Exact(5));
    List<CompletableFuture<EmbeddingResult>> futures = new ArrayList<>();
    for (int i = 0; i < 1500; i++) {
      String text = random.nextInt(50) == 0 ? " " : SENTENCES.get(random.nextInt(8)).repeat(1 + random.nextInt(6));
      Long deadline = random.nextBoolean() ? null : (long) (1 + random.nextInt(200));
      Integer dims = random.nextInt(4) == 0 ? 1 + random.nextInt(400) : null;
      futures.add(runtime.submit(new EmbeddingRequest(text, policies.get(random.nextInt(policies.size())), deadline,
          random.nextBoolean() ? Priority.BULK : Priority.INTERACTIVE, dims)).toCompletableFuture());
    }
    int answered = 0;
    for (CompletableFuture<EmbeddingResult> f : futures) {
      try {
        f.get(60, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        assertInstanceOf(dev.exitflow.model.ExitflowException.class, e.getCause(), "a typed error");
      } catch (Exception e) {
        throw new AssertionError("a request was left without a reply", e);
      }
      answered++;
    }
    assertEquals(1500, answered);
    assertEquals(0, await(runtime.stats()).inFlight());
  }

}
