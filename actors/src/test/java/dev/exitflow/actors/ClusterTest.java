package dev.exitflow.actors;

import static dev.exitflow.actors.EncoderRuntimeTest.await;
import static dev.exitflow.model.runtime.Vectors.cosine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.runtime.StagedEncoder;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three actor systems on 127.0.0.1 in one JVM form a real Pekko Cluster over Artery TCP: one
 * gateway node (scheduler, no workers) and two worker nodes. Batches and hidden states cross the
 * nodes in Exitflow's binary form (WorkerMessageSerializer).
 */
class ClusterTest {
  private static final Duration PATIENCE = Duration.ofSeconds(60);
  private final List<ActorSystem<Void>> systems = new ArrayList<>();

  @AfterEach
  void stopAll() {
    systems.forEach(ActorSystem::terminate);
    systems.forEach(s -> await(s.getWhenTerminated()));
  }

  @Test
  void trafficSpreadsOverBothWorkerNodesAndSurvivesLosingOne() throws Exception {
    Node gateway = startCluster("[]", "[]");
    EncoderRuntime runtime = gateway.runtime;
    // Four stages: the reserve exit's (layer 1, run through to exit 2 at one worker) and the plan's three.
    awaitStats(runtime, s -> s.workers() == 8, "both worker nodes serve all four stages");

    // Correct results across the wire: the deep exit equals the engine run in this process.
    List<String> texts = sentences(400);
    List<EmbeddingResult> first = await(runtime.submitAll(deep(texts)));
    try (StagedEncoder engine = StagedEncoder.open(gateway.model, ModelSettings.create(gateway.config))) {
      var expected = engine.embed(texts.subList(0, 16), "deep", null);
      for (int i = 0; i < expected.size(); i++) {
        assertTrue(cosine(expected.get(i).vector(), first.get(i).embedding()) > 0.9999, "text " + i);
      }
    }
    Map<String, Long> byNode = await(runtime.stats()).batchesByNode();
    assertEquals(2, byNode.size(), "batches ran on both worker nodes, none on the gateway: " + byNode);
    assertTrue(byNode.values().stream().allMatch(n -> n >= 3), "both nodes took a fair share: " + byNode);

    // Stop one worker node while 1,500 requests are in flight: every one is still answered.
    List<CompletableFuture<EmbeddingResult>> inFlight = new ArrayList<>();
    for (String t : sentences(1500)) {
      inFlight.add(runtime.submit(EmbeddingRequest.of(t, ExitPolicy.Deep.INSTANCE)).toCompletableFuture());
    }
    while (inFlight.stream().filter(CompletableFuture::isDone).count() < 100) {
      Thread.sleep(10);
    }
    ActorSystem<Void> leaving = systems.get(2);
    String leavingAddress = Cluster.get(leaving).selfMember().address().toString();
    leaving.terminate();
    CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    assertEquals(1500, inFlight.stream().map(CompletableFuture::join).filter(r -> r.exitLayer() == 6).count());

    RuntimeStats after = awaitStats(runtime, s -> s.workers() == 4, "the stopped node's workers are dropped");
    assertEquals(0, after.failed(), "lost batches were retried on the other node");
    long beforeMore = after.batchesByNode().entrySet().stream()
        .filter(e -> !e.getKey().equals(leavingAddress)).mapToLong(Map.Entry::getValue).sum();
    await(runtime.submitAll(deep(sentences(200))));
    RuntimeStats last = await(runtime.stats());
    long leftOnLeaving = last.batchesByNode().getOrDefault(leavingAddress, 0L);
    assertEquals(after.batchesByNode().getOrDefault(leavingAddress, 0L), leftOnLeaving, "nothing more went to it");
    assertTrue(last.batchesByNode().values().stream().mapToLong(Long::longValue).sum() - leftOnLeaving > beforeMore,
        "the remaining node carries on");
  }

  @Test
  void stagesMayLiveOnDifferentNodesAndReadinessFollowsThem() {
    // Stage numbers count the plan's stages: the reserve exit's stage goes with stage 1.
    Node gateway = startCluster("[1]", "[2, 3]");
    awaitStats(gateway.runtime, s -> s.workers() == 4, "stage 1 (and the reserve's) on one node, stages 2 and 3 on the other");
    List<EmbeddingResult> results = await(gateway.runtime.submitAll(deep(sentences(300))));
    assertTrue(results.stream().allMatch(r -> r.exitLayer() == 6));
    EmbeddingResult shallow = await(gateway.runtime.submit(EmbeddingRequest.of("hello", ExitPolicy.Shallow.INSTANCE)));
    assertEquals(2, shallow.exitLayer());
    assertEquals(2, await(gateway.runtime.stats()).batchesByNode().size(), "every deep request crossed both nodes");

    assertTrue(gateway.runtime.isReady());
    systems.get(1).terminate(); // the only node with stage 1 workers
    awaitStats(gateway.runtime, s -> s.workers() == 2, "stage 1's workers are gone");
    assertTrue(!gateway.runtime.isReady(), "not ready while a stage has no worker anywhere");
    Throwable refused = EncoderRuntimeTest.failure(gateway.runtime.submit(EmbeddingRequest.of("anyone?", ExitPolicy.Deep.INSTANCE)));
    assertTrue(refused instanceof NoWorkers && refused.getMessage().contains("[1]"), String.valueOf(refused));
  }

  private record Node(Config config, ModelDescriptor model, EncoderRuntime runtime) {}

  /** A gateway node that seeds the cluster and two worker nodes serving the given stages. */
  private Node startCluster(String firstWorkerStages, String secondWorkerStages) {
    int seedPort = freePort();
    String seeds = "[\"pekko://exitflow@127.0.0.1:" + seedPort + "\"]";
    Config gatewayConfig = node("[gateway]", seedPort, seeds, "[]");
    ActorSystem<Void> gateway = system(gatewayConfig);
    ModelDescriptor model = new ModelRepository(ModelSettings.create(gatewayConfig)).resolve("all-minilm-l6-v2");
    for (String stages : List.of(firstWorkerStages, secondWorkerStages)) {
      Config workerConfig = node("[worker]", 0, seeds, stages);
      WorkerNode.start(system(workerConfig), model, workerConfig);
    }
    EncoderRuntime runtime = EncoderRuntime.start(gateway, model, gatewayConfig);
    await(runtime.ready());
    return new Node(gatewayConfig, model, runtime);
  }

  private static Config node(String roles, int port, String seeds, String workerStages) {
    return ConfigFactory.parseString("exitflow.cluster { enabled = on, roles = " + roles + ", port = " + port
            + ", seed-nodes = " + seeds + ", worker-stages = " + workerStages + " }\n"
            + "exitflow.actors.admission.first-stage-queue-capacity = 2000\n"
            + "exitflow.actors.workers-per-stage = 1\n" // the counts below are one worker per stage per node
            + "pekko.cluster.typed.receptionist.distributed-data.gossip-interval = 200ms\n"
            + "pekko.cluster.gossip-interval = 200ms\n"
            + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n"
            + "pekko.coordinated-shutdown.terminate-actor-system = on\n"
            + "pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off\n")
        .withFallback(ConfigFactory.load());
  }

  private ActorSystem<Void> system(Config config) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow",
        ClusterSettings.create(config).actorSystemConfig(config));
    systems.add(system);
    return system;
  }

  private static RuntimeStats awaitStats(EncoderRuntime runtime, Predicate<RuntimeStats> until, String what) {
    long end = System.nanoTime() + PATIENCE.toNanos();
    RuntimeStats stats = await(runtime.stats());
    while (!until.test(stats)) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + PATIENCE + ": " + what + "; last " + stats);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      stats = await(runtime.stats());
    }
    return stats;
  }

  private static List<EmbeddingRequest> deep(List<String> texts) {
    return texts.stream().map(t -> EmbeddingRequest.of(t, ExitPolicy.Deep.INSTANCE)).toList();
  }

  /** Distinct texts of varied length, built from the runtime test's sentences. */
  private static List<String> sentences(int n) {
    List<String> base = EncoderRuntimeTest.SENTENCES;
    List<String> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(base.get(i % base.size()) + " " + "again ".repeat(i % 7) + "#" + i);
    }
    return out;
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
