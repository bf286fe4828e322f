package dev.exitflow.actors;

import dev.exitflow.model.Failures;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.runtime.PaddedBatch;
import dev.exitflow.model.runtime.StageSession;
import dev.exitflow.model.tokenize.TokenizedText;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Owns one ONNX Runtime session of one stage and runs one batch at a time on it, then applies the
 * stage's exit head to the whole batch (one adapter run per batch, not per text; the scheduler
 * keeps the embeddings of the requests that leave here). The session is opened, and every batch
 * run, on the blocking inference dispatcher; results come back to the actor with {@code pipeToSelf}.
 *
 * <p>A worker announces itself once its session is open: to its scheduler in one process, or to
 * the Receptionist in a cluster, where schedulers on other nodes find it. Runs that arrive while
 * it is busy or still opening wait in its stash (several gateways may share one worker). When a
 * batch fails, the worker reports the failure for that batch (and returns the waiting runs
 * unrun) and then fails itself, so its supervisor restarts it with a fresh session. The session
 * is closed on restart and stop, but never while a batch is still running on it.
 */
public final class StageWorker {
  public interface Command {}

  /**
   * Run the stage on these texts; {@code states} are their hidden states after the previous stage
   * (null for stage 0), unpadded: the worker pads them into one input, off the scheduler's thread.
   * {@code collectFeatures}: some text may leave at an exit whose adapter reads the layer features,
   * here or later, so pool them (the scheduler asks the served model's {@code FeaturePolicy}).
   * {@code exitHere}: some text may leave right after this stage, so apply its exit head (a batch
   * that only passes through skips the adapter's product). {@code statesBack}: some text may go on
   * to the next stage, so send the hidden states back; false at the last stage, or when every text
   * leaves here (nothing reads them then, and through a cluster they were a fifth of a deep
   * request's bytes over three stages).
   */
  public record Run(long batchId, List<TokenizedText> tokens, List<HiddenState> states, boolean collectFeatures,
      boolean exitHere, boolean statesBack, ActorRef<Outcome> replyTo) implements Command, WorkerMessage {}

  private record Opened(StageSession session) implements Command {}

  private record OpenFailed(Throwable error) implements Command {}

  private record Finished(long batchId, List<HiddenState> states, List<float[]> embeddings, int paddedTokens, long nanos,
      ActorRef<Outcome> replyTo) implements Command {}

  private record Crashed(long batchId, Throwable error, ActorRef<Outcome> replyTo) implements Command {}

  /** What a worker tells its scheduler. */
  public sealed interface Outcome extends WorkerMessage {
    int stage();

    ActorRef<Command> worker();
  }

  /** The session is open: the worker takes batches (sent to the scheduler of its own process only). */
  public record Ready(int stage, ActorRef<Command> worker) implements Outcome {}

  /**
   * A batch ran: each text's hidden state (padding stripped; null when the run did not ask for them
   * back) and its full-size unit embedding at this stage's exit, in the order of the run (null when
   * no text of the batch can leave here).
   */
  public record BatchDone(int stage, ActorRef<Command> worker, long batchId, List<HiddenState> states,
      List<float[]> embeddings, int paddedTokens, long computeNanos) implements Outcome {}

  /**
   * A batch failed. {@code ran}: it failed inside ONNX Runtime (running it again would fail
   * again); false when it never ran because the worker broke on an earlier batch.
   */
  public record BatchFailed(int stage, ActorRef<Command> worker, long batchId, String error, boolean ran)
      implements Outcome {}

  /** Thrown after a failed batch so that supervision replaces the session. */
  static final class SessionBroken extends RuntimeException {
    SessionBroken(Throwable cause) {
      super("stage session failed; restarting the worker", cause);
    }
  }

  /** Runs that may wait while the worker is busy; more than one per scheduler never arrive. */
  private static final int STASH_CAPACITY = 1024;

  /** A worker of one process: it tells {@code scheduler} when ready, and runs a batch only in one of {@code slots}. */
  static Behavior<Command> create(int stage, Callable<StageSession> openSession, ExitHead head, String dispatcher,
      ComputeSlots slots, ActorRef<Outcome> scheduler) {
    return create(stage, openSession, head, dispatcher, slots, self -> scheduler.tell(new Ready(stage, self)));
  }

  /**
   * A cluster worker: it registers under {@code key} with the Receptionist when ready, and runs a
   * batch only in one of its node's {@code slots}.
   */
  static Behavior<Command> registered(int stage, Callable<StageSession> openSession, ExitHead head,
      String dispatcher, ComputeSlots slots, ServiceKey<Command> key) {
    return Behaviors.setup(ctx -> create(stage, openSession, head, dispatcher, slots,
        self -> ctx.getSystem().receptionist().tell(Receptionist.register(key, self))));
  }

  private static Behavior<Command> create(int stage, Callable<StageSession> openSession, ExitHead head,
      String dispatcher, ComputeSlots slots, Consumer<ActorRef<Command>> announce) {
    return Behaviors.supervise(
            Behaviors.<Command>withStash(STASH_CAPACITY, stash -> Behaviors.<Command>setup(ctx ->
                new StageWorker(ctx, stash, stage, openSession, head, dispatcher, slots, announce).opening())))
        .onFailure(Exception.class,
            SupervisorStrategy.restartWithBackoff(Duration.ofMillis(50), Duration.ofSeconds(5), 0.2));
  }

  private final ActorContext<Command> ctx;
  private final StashBuffer<Command> stash;
  private final int stage;
  private final Consumer<ActorRef<Command>> announce;
  private final ExitHead head;
  private final ComputeSlots slots;
  private final Executor blocking;
  /** The last work handed to the blocking dispatcher; the session is closed only after it. */
  private CompletableFuture<?> lastWork;
  private StageSession session;
  private boolean busy;

  private StageWorker(ActorContext<Command> ctx, StashBuffer<Command> stash, int stage,
      Callable<StageSession> openSession, ExitHead head, String dispatcher, ComputeSlots slots,
      Consumer<ActorRef<Command>> announce) {
    this.ctx = ctx;
    this.slots = slots;
    this.stash = stash;
    this.stage = stage;
    this.announce = announce;
    this.head = head;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(dispatcher));
    CompletableFuture<StageSession> opening = CompletableFuture.supplyAsync(() -> call(openSession), blocking);
    this.lastWork = opening;
    ctx.pipeToSelf(opening, (s, error) -> error == null ? new Opened(s) : new OpenFailed(Failures.unwrap(error)));
  }

  private Behavior<Command> opening() {
    return Behaviors.receive(Command.class)
        .onMessage(Opened.class, this::onOpened)
        .onMessage(OpenFailed.class, m -> {
          throw new SessionBroken(m.error());
        })
        .onMessage(Run.class, this::stashRun)
        .onSignal(PreRestart.class, s -> closeWhenIdle())
        .onSignal(PostStop.class, s -> closeWhenIdle())
        .build();
  }

  private Behavior<Command> onOpened(Opened m) {
    session = m.session();
    announce.accept(ctx.getSelf());
    return stash.unstash(serving(), 1, r -> r);
  }

  private Behavior<Command> serving() {
    return Behaviors.receive(Command.class)
        .onMessage(Run.class, m -> busy ? stashRun(m) : onRun(m))
        .onMessage(Finished.class, this::onFinished)
        .onMessage(Crashed.class, this::onCrashed)
        .onSignal(PreRestart.class, s -> closeWhenIdle())
        .onSignal(PostStop.class, s -> closeWhenIdle())
        .build();
  }

  private Behavior<Command> stashRun(Run m) {
    stash.stash(m);
    return Behaviors.same();
  }

  private Behavior<Command> onRun(Run m) {
    busy = true;
    StageSession s = session;
    CompletableFuture<Finished> work = CompletableFuture.supplyAsync(() -> call(() -> slots.run(() -> {
      long start = System.nanoTime();
      PaddedBatch input = m.states() == null ? null
          : PaddedBatch.of(m.tokens(), m.states(), m.states().get(0).hiddenSize());
      PaddedBatch out = s.run(m.tokens(), input, m.collectFeatures());
      List<HiddenState> states = out.split();
      List<float[]> embeddings = m.exitHere() ? head.applyAll(out, states, null) : null;
      return new Finished(m.batchId(), m.statesBack() ? states : null, embeddings, out.longest() * states.size(),
          System.nanoTime() - start, m.replyTo());
    })), blocking);
    lastWork = work;
    ctx.pipeToSelf(work,
        (done, error) -> error == null ? done : new Crashed(m.batchId(), Failures.unwrap(error), m.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onFinished(Finished m) {
    busy = false;
    m.replyTo().tell(new BatchDone(stage, ctx.getSelf(), m.batchId(), m.states(), m.embeddings(), m.paddedTokens(),
        m.nanos()));
    return stash.isEmpty() ? Behaviors.same() : stash.unstash(serving(), 1, r -> r);
  }

  private Behavior<Command> onCrashed(Crashed m) {
    ctx.getLog().warn("stage {} batch {} failed: {}", stage + 1, m.batchId(), m.error().toString());
    m.replyTo().tell(new BatchFailed(stage, ctx.getSelf(), m.batchId(), String.valueOf(m.error().getMessage()), true));
    // The stash does not survive the restart: hand waiting runs back so their schedulers re-queue them.
    stash.forEach(c -> {
      Run r = (Run) c;
      r.replyTo().tell(new BatchFailed(stage, ctx.getSelf(), r.batchId(), "the worker restarted before running it", false));
    });
    stash.clear();
    throw new SessionBroken(m.error());
  }

  private Behavior<Command> closeWhenIdle() {
    CompletableFuture<?> pending = lastWork;
    StageSession s = session;
    session = null;
    pending.whenComplete((r, e) -> {
      StageSession toClose = s != null ? s : (r instanceof StageSession opened ? opened : null);
      if (toClose != null) {
        try {
          toClose.close();
        } catch (Exception closeError) {
          // Nothing more to do for a session being thrown away.
        }
      }
    });
    return Behaviors.same();
  }

  private static <T> T call(Callable<T> c) {
    try {
      return c.call();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new CompletionException(e);
    }
  }
}
