package dev.exitflow.loadtests;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.ClusterSettings;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.StageWorker;
import dev.exitflow.actors.WorkerMessageSerializer;
import dev.exitflow.actors.WorkerNode;
import dev.exitflow.model.calibrate.Corpus;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsEvaluator;
import dev.exitflow.model.eval.StsFiles;
import dev.exitflow.model.runtime.Vectors;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What the cluster costs: deep throughput of the in-process runtime against a gateway node that
 * batches onto worker nodes over Pekko remoting (Artery TCP on 127.0.0.1), all in this JVM
 * and on the same cores, alternating in the same run. On one machine more worker nodes add no
 * cores; the figure is the price of moving batches and hidden states between nodes.
 */
@Command(name = "cluster", description = "Deep throughput through a gateway node and 1..N worker nodes vs in-process.")
final class ClusterCommand implements Callable<Integer> {
  @Option(names = "--json", description = "Print the result as one JSON object, last")
  boolean json;

  @Option(names = "--seconds", defaultValue = "10", description = "Length of each measurement (default: ${DEFAULT-VALUE})")
  int seconds;

  @Option(names = "--rounds", defaultValue = "2", description = "Alternating rounds per cluster size (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--concurrency", defaultValue = "256", description = "Outstanding requests (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--max-nodes", defaultValue = "2", description = "Worker nodes to grow to (default: ${DEFAULT-VALUE})")
  int maxNodes;

  @Option(names = "--model", description = "Model name or directory (default: exitflow.model.default)")
  String model;

  @Option(names = "--dataset", paramLabel = "FILE", description = "Send this file's texts (one per line, or an STS "
      + "CSV's sentences) instead of STS-B's test sentences; a bare name is one shipped in data/, e.g. "
      + "europarl-passages-en.txt")
  String dataset;

  @Option(names = "--min-tokens", defaultValue = "0", paramLabel = "N", description = "Only the texts of at least N "
      + "tokens, [CLS] and [SEP] included (default: ${DEFAULT-VALUE})")
  int minTokens;

  @Option(names = "--max-tokens", defaultValue = "0", paramLabel = "N", description = "Only the texts of at most N "
      + "tokens; 0: up to the model's maximum. Texts the tokenizer would cut are always left out "
      + "(the 256 bucket of bench --lengths 64,128,256,512: --min-tokens 129 --max-tokens 256)")
  int maxTokens;

  @Option(names = "--fidelity", description = "Also embed every STS-B test sentence (deep) in process and through "
      + "one worker node: cosine of each pair of embeddings, and the Spearman correlation of both with the labels")
  boolean fidelity;

  record Fidelity(int sentences, double meanCosine, double minCosine, double spearmanInProcess,
      double spearmanCluster) {}

  record Size(int workerNodes, double inProcessSps, double clusterSps, double ratio, Map<String, Long> batchesByNode) {}

  record Result(String model, String wire, String dataset, int texts, double meanTokens, int concurrency, int seconds,
      int rounds, Fidelity fidelity, List<Size> sizes) {}

  @Override
  public Integer call() throws Exception {
    List<ActorSystem<Void>> nodes = new ArrayList<>();
    try (Harness h = new Harness(model)) {
      int seedPort = freePort();
      String seeds = "pekko://exitflow@127.0.0.1:" + seedPort;
      Config gatewayConfig = node("gateway", seedPort, seeds, h.config);
      ActorSystem<Void> gateway = system(gatewayConfig, nodes);
      Texts texts = texts(h);
      System.err.printf("%d texts of %s, %.1f tokens on average%n", texts.texts().size(), texts.name(), texts.meanTokens());
      IntFunction<EmbeddingRequest> deep = i -> EmbeddingRequest.of(
          texts.texts().get(Math.floorMod(i, texts.texts().size())), ExitPolicy.Deep.INSTANCE);
      EncoderRuntime clustered = null;
      Fidelity measured = null;
      String wire = wire(gateway, gatewayConfig);
      System.err.println("worker messages: " + wire);
      List<Size> sizes = new ArrayList<>();
      for (int n = 1; n <= maxNodes; n++) {
        Config workerConfig = node("worker", 0, seeds, h.config);
        WorkerNode.start(system(workerConfig, nodes), h.model, workerConfig);
        if (clustered == null) {
          clustered = EncoderRuntime.start(gateway, h.model, gatewayConfig);
        }
        awaitWorkers(clustered, n * h.model.exitLayers().size());
        System.err.printf("%d worker node(s) serving; warming up...%n", n);
        if (fidelity && n == 1) {
          measured = fidelity(h, clustered);
          System.err.println(measured);
        }
        Harness.closedLoop(clustered, deep, concurrency, Duration.ofSeconds(2));
        h.closedLoop(deep, concurrency, Duration.ofSeconds(2));
        double local = 0;
        double remote = 0;
        for (int r = 0; r < rounds; r++) {
          double a = h.closedLoop(deep, concurrency, Duration.ofSeconds(seconds));
          double b = Harness.closedLoop(clustered, deep, concurrency, Duration.ofSeconds(seconds));
          System.err.printf("%d node(s), round %d: in-process %.1f/s, cluster %.1f/s%n", n, r + 1, a, b);
          local += a / rounds;
          remote += b / rounds;
        }
        sizes.add(new Size(n, local, remote, remote / local, clustered.stats().toCompletableFuture().join().batchesByNode()));
      }
      Result result = new Result(h.model.name(), wire, texts.name(), texts.texts().size(), texts.meanTokens(),
          concurrency, seconds, rounds, measured, sizes);
      System.out.printf("%-13s %16s %16s %8s%n", "worker nodes", "in-process /s", "cluster /s", "ratio");
      for (Size s : sizes) {
        System.out.printf("%-13d %16.1f %16.1f %8.2f%n", s.workerNodes(), s.inProcessSps(), s.clusterSps(), s.ratio());
      }
      Harness.write("cluster.json", result);
      if (json) {
        System.out.println(Harness.line(result));
      }
      clustered.stop().toCompletableFuture().join();
      return 0;
    } finally {
      nodes.forEach(ActorSystem::terminate);
      nodes.forEach(s -> s.getWhenTerminated().toCompletableFuture().join());
    }
  }

  /** The serializer the worker messages go through, and how it writes hidden states. */
  private static String wire(ActorSystem<Void> gateway, Config config) throws java.io.NotSerializableException {
    Serializer s = SerializationExtension.get(gateway).serializerFor(StageWorker.Run.class);
    return s.getClass().getSimpleName()
        + (s instanceof WorkerMessageSerializer w ? " " + w.encoding().name().toLowerCase(java.util.Locale.ROOT) : "");
  }

  /** Deep embeddings of every STS-B test sentence in process and through the cluster, compared. */
  private static Fidelity fidelity(Harness h, EncoderRuntime clustered) throws java.io.IOException {
    StsDataset sts = StsDataset.read(StsFiles.locate("sts-test.csv"));
    Map<String, Integer> index = sts.sentences();
    List<String> texts = new ArrayList<>(index.keySet());
    float[][] local = new float[texts.size()][];
    float[][] remote = new float[texts.size()][];
    for (int from = 0; from < texts.size(); from += 256) {
      List<EmbeddingRequest> chunk = texts.subList(from, Math.min(from + 256, texts.size())).stream()
          .map(t -> EmbeddingRequest.of(t, ExitPolicy.Deep.INSTANCE)).toList();
      List<EmbeddingResult> a = h.runtime.submitAll(chunk).toCompletableFuture().join();
      List<EmbeddingResult> b = clustered.submitAll(chunk).toCompletableFuture().join();
      for (int i = 0; i < chunk.size(); i++) {
        local[index.get(texts.get(from + i))] = a.get(i).embedding();
        remote[index.get(texts.get(from + i))] = b.get(i).embedding();
      }
    }
    double sum = 0;
    double min = 1;
    for (int i = 0; i < local.length; i++) {
      double c = Vectors.cosine(local[i], remote[i]);
      sum += c;
      min = Math.min(min, c);
    }
    return new Fidelity(local.length, sum / local.length, min, StsEvaluator.spearman(sts, index, local),
        StsEvaluator.spearman(sts, index, remote));
  }

  private record Texts(String name, List<String> texts, double meanTokens) {}

  /** STS-B's test sentences, or the texts of --dataset within --min-tokens and --max-tokens. */
  private Texts texts(Harness h) {
    String name = dataset != null ? dataset : "sts-test.csv";
    List<String> all = dataset != null ? Corpus.read(StsFiles.locate(dataset)) : h.sentences;
    List<TokenizedText> tokens;
    try (TextTokenizer tokenizer = new TextTokenizer(h.model)) {
      tokens = tokenizer.tokenize(all);
    }
    int upTo = maxTokens > 0 ? maxTokens : Integer.MAX_VALUE;
    List<String> chosen = new ArrayList<>();
    long total = 0;
    for (int i = 0; i < all.size(); i++) {
      TokenizedText t = tokens.get(i);
      if (!t.truncated() && t.length() >= minTokens && t.length() <= upTo) {
        chosen.add(all.get(i));
        total += t.length();
      }
    }
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException("no text of " + name + " has " + minTokens + " to "
          + (maxTokens > 0 ? maxTokens : "the model's maximum") + " tokens");
    }
    return new Texts(name, chosen, (double) total / chosen.size());
  }

  private static Config node(String role, int port, String seeds, Config base) {
    return ConfigFactory.parseString("exitflow.cluster { enabled = on, roles = " + role + ", port = " + port
            + ", seed-nodes = \"" + seeds + "\" }\n"
            + "exitflow.actors.admission.first-stage-queue-capacity = 4096\n"
            + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on\n")
        .withFallback(base);
  }

  private static ActorSystem<Void> system(Config config, List<ActorSystem<Void>> nodes) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "exitflow",
        ClusterSettings.create(config).actorSystemConfig(config));
    nodes.add(system);
    return system;
  }

  private static void awaitWorkers(EncoderRuntime runtime, int workers) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (runtime.stats().toCompletableFuture().join().workers() < workers) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the worker nodes did not register within 60 s");
      }
      Thread.sleep(100);
    }
  }

  private static int freePort() throws java.io.IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
