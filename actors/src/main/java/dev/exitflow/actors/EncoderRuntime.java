package dev.exitflow.actors;

import ai.onnxruntime.OrtException;
import com.typesafe.config.Config;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.plan.Plan;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.eval.SpearmanRecord;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.ExitPoints;
import dev.exitflow.model.tokenize.TextTokenizer;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The in-process API of the actor runtime, for the gateway and the Kafka pipeline: submit texts,
 * get embeddings, with batching, exit routing and admission done behind it.
 *
 * <p>Texts are tokenized and validated on the caller's thread, so a bad request fails at once
 * with a typed error ({@link InvalidInputException}) without entering any queue.
 */
public final class EncoderRuntime {
  /** One runtime per actor system; the fixed name lets remoting send worker replies on its large-message lane. */
  static final String SCHEDULER_NAME = "exitflow-scheduler";

  private final ActorSystem<?> system;
  private final ModelDescriptor model;
  private final TextTokenizer tokenizer;
  private final ActorRef<Scheduler.Command> scheduler;
  private final List<Integer> exitLayers;
  private final List<ExitHead> heads;
  private final RuntimeSettings settings;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final Readiness readiness;
  private final List<ExitQuality> exits;
  private final ExitQuality reserveExit;

  private EncoderRuntime(ActorSystem<?> system, ModelDescriptor model, TextTokenizer tokenizer,
      ActorRef<Scheduler.Command> scheduler, List<ExitHead> heads, RuntimeSettings settings, Readiness readiness,
      List<ExitQuality> exits, ExitQuality reserveExit) {
    this.exits = exits;
    this.reserveExit = reserveExit;
    this.system = system;
    this.model = model;
    this.tokenizer = tokenizer;
    this.scheduler = scheduler;
    this.exitLayers = model.exitLayers();
    this.heads = heads;
    this.settings = settings;
    this.readiness = readiness;
  }

  /** Readiness as the scheduler reports it: whether every exit can be served now, and when it first could. */
  private static final class Readiness implements Consumer<Boolean> {
    volatile boolean now;
    final CompletableFuture<Done> first = new CompletableFuture<>();

    @Override
    public void accept(Boolean ready) {
      now = ready;
      if (ready) {
        first.complete(Done.getInstance());
      }
    }
  }

  /**
   * Compiles the model's stages (or finds them in the cache), run as the configured plan if any
   * ({@code exitflow.model.plan}), and starts the scheduler and its workers in {@code system}.
   * Blocks while compiling; workers open their sessions in the background — see {@link #ready()}.
   * {@link #model()} is then the model with the plan's exits.
   */
  public static EncoderRuntime start(ActorSystem<?> system, ModelDescriptor model, Config config) {
    return start(system, model, config, RuntimeListener.NONE);
  }

  /** As {@link #start(ActorSystem, ModelDescriptor, Config)}, reporting batches and exits to a listener. */
  public static EncoderRuntime start(ActorSystem<?> system, ModelDescriptor model, Config config,
      RuntimeListener listener) {
    ServedModel served = ServedModel.load(model, config);
    RuntimeSettings settings = RuntimeSettings.create(config);
    List<ExitHead> heads = served.heads(); // with calibrated adapters, if saved
    // In a cluster the scheduler finds workers anywhere (this node's own too, if it has the role).
    WorkerSource workers = ClusterSettings.create(config).enabled()
        ? new WorkerSource.Discovered(served.workerKeys())
        : new WorkerSource.Local((stage, worker) -> served.openStage(stage,
            settings.forWorker(served.settings(), served.configuredStage(stage), worker)), settings.workersPerStage(),
            served.reserveStages(),
            ComputeSlots.of(settings.busyWorkersPerNode()));
    Readiness readiness = new Readiness();
    RuntimeLayout layout = new RuntimeLayout(served.model().exitLayers(), served.reserveStages(), heads,
        served.features(), workers, listener, readiness);
    ActorRef<Scheduler.Command> scheduler =
        system.systemActorOf(Scheduler.create(layout, settings), SCHEDULER_NAME, Props.empty());
    List<ExitQuality> exits = exits(served.model().exitLayers(), heads, served.compiled());
    return new EncoderRuntime(system, served.servedModel(), new TextTokenizer(served.model()), scheduler,
        heads, settings, readiness,
        exits.subList(served.reserveStages(), exits.size()),
        served.reserveStages() > 0 ? exits.get(0) : null);
  }

  /**
   * The plan {@link #start} runs {@code model} as: {@code exitflow.model.plan} (the model as it comes
   * when none), with the reserve exit ({@code exitflow.actors.reserve-exit-layer}) when it adds one.
   */
  public static Plan servedPlan(ModelDescriptor model, Config config) {
    return ServedModel.plan(model, config);
  }

  /** The scheduler actor, for tests that speak its protocol directly. */
  ActorRef<Scheduler.Command> scheduler() {
    return scheduler;
  }

  public ModelDescriptor model() {
    return model;
  }

  /** The served model's tokenizer, for callers that cut long texts into windows before submitting them. */
  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  public List<Integer> exitLayers() {
    return exitLayers;
  }

  /** Each exit with its adapter (null when it pools plainly), fidelity and recorded Spearman, shallow to deep. */
  public List<ExitQuality> exits() {
    return exits;
  }

  /**
   * The reserve exit ({@code exitflow.actors.reserve-exit-layer}), shallower than {@link #exits()}:
   * {@code auto} requests leave there only when their deadline demands it; null when there is none.
   */
  public ExitQuality reserveExit() {
    return reserveExit;
  }

  private static List<ExitQuality> exits(List<Integer> layers, List<ExitHead> heads, CompiledModel compiled) {
    Map<Integer, Map<String, Double>> spearman = SpearmanRecord.read(compiled);
    List<ExitQuality> out = new ArrayList<>();
    for (int s = 0; s < layers.size(); s++) {
      boolean deep = s == layers.size() - 1;
      ExitHead head = heads.get(s);
      // Figures eval measured with adapters hold only while these are the adapters served.
      boolean served = heads.stream().anyMatch(ExitHead::calibrated);
      out.add(new ExitQuality(layers.get(s), deep, head.adapter() == null ? null : head.adapter().summary(),
          head.branch() != null,
          ExitQuality.fidelity(head, deep), served ? spearman.getOrDefault(layers.get(s), Map.of()) : Map.of()));
    }
    return List.copyOf(out);
  }

  /**
   * True while every worker has its session open (in a cluster: while every stage has a worker
   * somewhere), until stop() is called (for readiness probes).
   */
  public boolean isReady() {
    return readiness.now && !stopping.get();
  }

  /** Completes when every stage worker has its ONNX Runtime session open (in a cluster: every stage has one). */
  public CompletionStage<Done> ready() {
    return readiness.first.copy();
  }

  public CompletionStage<EmbeddingResult> submit(EmbeddingRequest request) {
    return submitAll(List.of(request)).thenApply(results -> results.get(0));
  }

  /**
   * Submits a request that goes past the first exit and previews it: {@code early} receives the
   * first exit's result as soon as it exists (on the runtime's thread: hand it off quickly), and
   * the returned stage completes with the final one. Nothing is computed twice.
   */
  public CompletionStage<EmbeddingResult> submitWithPreview(EmbeddingRequest request, Consumer<EmbeddingResult> early) {
    long submitted = System.nanoTime();
    TokenizedText tokens;
    try {
      tokens = admit(List.of(request)).get(0);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return onDispatcher(AskPattern.<Scheduler.Command, EmbeddingResult>askWithStatus(
        scheduler, replyTo -> new Scheduler.Submit(request, tokens, submitted, replyTo, early), settings.askTimeout(),
        system.scheduler()));
  }

  /**
   * Submits the inputs of one request (tokenized in one call), admitted as a unit: all start or
   * none does ({@link Overloaded}). Completes when all have results, or fails with the first error.
   */
  public CompletionStage<List<EmbeddingResult>> submitAll(List<EmbeddingRequest> requests) {
    long submitted = System.nanoTime();
    List<TokenizedText> tokens;
    try {
      tokens = admit(requests);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return onDispatcher(AskPattern.<Scheduler.Command, List<EmbeddingResult>>askWithStatus(
        scheduler, replyTo -> new Scheduler.SubmitAll(requests, tokens, submitted, replyTo), settings.askTimeout(),
        system.scheduler()));
  }

  /**
   * The reply as a plain CompletableFuture, completed on the actor system's dispatcher. The ask's
   * own stage (Scala's) runs even thenApply and whenComplete as if async on the common pool, and
   * where that pool has a single thread (a machine of two cores) CompletableFuture starts a new
   * thread for every callback: one per request, 5,503 in 8 s of the exit-2 saturation loop.
   */
  private <T> CompletableFuture<T> onDispatcher(CompletionStage<T> reply) {
    CompletableFuture<T> plain = new CompletableFuture<>();
    reply.whenCompleteAsync((value, error) -> {
      if (error == null) {
        plain.complete(value);
      } else {
        plain.completeExceptionally(error);
      }
    }, system.executionContext());
    return plain;
  }

  /** Refuses work while stopping, validates every request, and tokenizes them all in one call. */
  private List<TokenizedText> admit(List<EmbeddingRequest> requests) {
    if (stopping.get()) {
      throw new ShuttingDown();
    }
    requests.forEach(this::validate);
    return tokenizer.tokenize(requests.stream().map(EmbeddingRequest::text).toList());
  }

  /** Checks a request's options against the served model; throws InvalidInputException naming the problem. */
  public void validate(EmbeddingRequest r) {
    if (r.exit() instanceof ExitPolicy.Exact exact && !exitLayers.contains(exact.layer())) {
      throw InvalidInputException.unknownExit(String.valueOf(exact.layer()), exitNames());
    }
    heads.get(0).checkDimensions(r.dimensions());
    if (r.deadlineMs() != null && r.deadlineMs() <= 0) {
      throw new InvalidInputException("deadline_out_of_range", "deadline_ms must be positive, got " + r.deadlineMs());
    }
    if (r.minFidelity() != null) {
      if (!(r.minFidelity() >= 0 && r.minFidelity() <= 1)) {
        throw new InvalidInputException("fidelity_out_of_range", "min_fidelity must be between 0 and 1, got "
            + r.minFidelity());
      }
      // An exact exit is a promise: below the floor it is refused rather than silently deepened.
      if (r.exit() instanceof ExitPolicy.Exact exact) {
        int s = exitLayers.indexOf(exact.layer());
        double f = exits.get(s).fidelity();
        if (!(f >= r.minFidelity())) {
          throw new InvalidInputException("exit_below_min_fidelity", "exit " + exact.layer() + " has fidelity "
              + (Double.isNaN(f) ? "unknown (no adapter)" : String.format("%.4f", f)) + ", below min_fidelity "
              + r.minFidelity());
        }
      }
    }
  }

  private List<String> exitNames() {
    List<String> names = new ArrayList<>(new ExitPoints(exitLayers).names());
    names.add("auto");
    return names;
  }

  /** The runtime's queues, rates and controller level now; completes on the actor system's dispatcher. */
  public CompletionStage<RuntimeStats> stats() {
    return onDispatcher(AskPattern.ask(scheduler, Scheduler.GetStats::new, settings.askTimeout(), system.scheduler()));
  }

  /**
   * Graceful drain: new requests are refused with {@link ShuttingDown}, queued and running ones
   * finish (or fail after the drain timeout), then the workers stop and close their sessions.
   */
  public CompletionStage<Done> stop() {
    stopping.set(true);
    return AskPattern.<Scheduler.Command, Done>ask(scheduler, Scheduler.Drain::new,
            settings.drainTimeout().plus(settings.askTimeout()), system.scheduler())
        .whenComplete((done, error) -> {
          tokenizer.close();
          for (ExitHead h : heads) {
            try {
              h.close(); // adapter sessions; the workers have stopped using them
            } catch (OrtException ignored) {
              // closing native sessions at shutdown: nothing left to do
            }
          }
        });
  }
}
