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
 * A worker of a reserve exit's stage also holds the next stage's session and head, so that a batch
 * with nobody at risk runs through both in one go ({@link Run#through}).
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
   * request's bytes over three stages). {@code through}: run the next stage too, in one go, and
   * apply its exit head instead (a reserve exit's stage, when no text of the batch may have to
   * leave there: see {@link ReserveExit}); {@code exitHere} and {@code statesBack} are then about
   * the next stage's exit. A worker that cannot run through runs its own stage only.
   */
  public record Run(long batchId, List<TokenizedText> tokens, List<HiddenState> states, boolean collectFeatures,
      boolean exitHere, boolean statesBack, boolean through, ActorRef<Outcome> replyTo)
      implements Command, WorkerMessage {
    /** A run of the worker's own stage only. */
    public Run(long batchId, List<TokenizedText> tokens, List<HiddenState> states, boolean collectFeatures,
        boolean exitHere, boolean statesBack, ActorRef<Outcome> replyTo) {
      this(batchId, tokens, states, collectFeatures, exitHere, statesBack, false, replyTo);
    }
  }

  private record Opened(StageSession session, StageSession next) implements Command {}

  private record OpenFailed(Throwable error) implements Command {}

  private record Finished(long batchId, boolean through, List<HiddenState> states, List<float[]> embeddings,
      int paddedTokens, long nanos, long firstNanos, ActorRef<Outcome> replyTo) implements Command {}

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
   * no text of the batch can leave here). {@code through}: it ran the next stage too, so the states
   * and embeddings are the next stage's; {@code firstStageNanos} is the part of {@code computeNanos}
   * its own stage took.
   */
  public record BatchDone(int stage, ActorRef<Command> worker, long batchId, List<HiddenState> states,
      List<float[]> embeddings, int paddedTokens, long computeNanos, boolean through, long firstStageNanos)
      implements Outcome {
    /** A batch of the worker's own stage only. */
    public BatchDone(int stage, ActorRef<Command> worker, long batchId, List<HiddenState> states,
        List<float[]> embeddings, int paddedTokens, long computeNanos) {
      this(stage, worker, batchId, states, embeddings, paddedTokens, computeNanos, false, computeNanos);
    }

    /** The stage whose exit the states and embeddings are at. */
    public int lastStage() {
      return through ? stage + 1 : stage;
    }
  }

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

  /**
   * What a worker opens: its stage's session, with that stage's exit head, and for a worker that
   * may run through to the next stage in one go ({@link Run#through}) the next stage's session and
   * head too (null otherwise).
   */
  record Sessions(Callable<StageSession> own, ExitHead head, Callable<StageSession> next, ExitHead nextHead) {
    static Sessions own(Callable<StageSession> own, ExitHead head) {
      return new Sessions(own, head, null, null);
    }
  }

  /** A worker of one process: it tells {@code scheduler} when ready, and runs a batch only in one of {@code slots}. */
  static Behavior<Command> create(int stage, Sessions sessions, String dispatcher, ComputeSlots slots,
      ActorRef<Outcome> scheduler) {
    return create(stage, sessions, dispatcher, slots, self -> scheduler.tell(new Ready(stage, self)));
  }

  /**
   * A cluster worker: it registers under {@code key} with the Receptionist when ready, and runs a
   * batch only in one of its node's {@code slots}.
   */
  static Behavior<Command> registered(int stage, Sessions sessions, String dispatcher, ComputeSlots slots,
      ServiceKey<Command> key) {
    return Behaviors.setup(ctx -> create(stage, sessions, dispatcher, slots,
        self -> ctx.getSystem().receptionist().tell(Receptionist.register(key, self))));
  }

  private static Behavior<Command> create(int stage, Sessions sessions, String dispatcher, ComputeSlots slots,
      Consumer<ActorRef<Command>> announce) {
    return Behaviors.supervise(
            Behaviors.<Command>withStash(STASH_CAPACITY, stash -> Behaviors.<Command>setup(ctx ->
                new StageWorker(ctx, stash, stage, sessions, dispatcher, slots, announce).opening())))
        .onFailure(Exception.class,
            SupervisorStrategy.restartWithBackoff(Duration.ofMillis(50), Duration.ofSeconds(5), 0.2));
  }

  private final ActorContext<Command> ctx;
  private final StashBuffer<Command> stash;
  private final int stage;
  private final Consumer<ActorRef<Command>> announce;
  private final ExitHead head;
  private final ExitHead nextHead;
  private final ComputeSlots slots;
  private final Executor blocking;
  /** The last work handed to the blocking dispatcher; the sessions are closed only after it. */
  private CompletableFuture<?> lastWork;
  private StageSession session;
  /** The next stage's session, for runs through it; null when the worker runs its own stage only. */
  private StageSession next;
  private boolean busy;

  private StageWorker(ActorContext<Command> ctx, StashBuffer<Command> stash, int stage, Sessions sessions,
      String dispatcher, ComputeSlots slots, Consumer<ActorRef<Command>> announce) {
    this.ctx = ctx;
    this.slots = slots;
    this.stash = stash;
    this.stage = stage;
    this.announce = announce;
    this.head = sessions.head();
    this.nextHead = sessions.nextHead();
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(dispatcher));
    CompletableFuture<Opened> opening = CompletableFuture.supplyAsync(() -> call(() -> open(sessions)), blocking);
    this.lastWork = opening;
    ctx.pipeToSelf(opening, (o, error) -> error == null ? o : new OpenFailed(Failures.unwrap(error)));
  }

  private static Opened open(Sessions sessions) throws Exception {
    StageSession own = sessions.own().call();
    try {
      return new Opened(own, sessions.next() == null ? null : sessions.next().call());
    } catch (Exception | Error e) {
      own.close();
      throw e;
    }
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
    next = m.next();
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
    StageSession n = m.through() ? next : null; // a worker without the next stage's session runs its own
    CompletableFuture<Finished> work = CompletableFuture.supplyAsync(() -> call(() -> slots.run(() -> {
      long start = System.nanoTime();
      PaddedBatch input = m.states() == null ? null
          : PaddedBatch.of(m.tokens(), m.states(), m.states().get(0).hiddenSize());
      PaddedBatch out = s.run(m.tokens(), input, m.collectFeatures());
      long firstNanos = System.nanoTime() - start;
      if (n != null) { // the next stage on this stage's output as it is: no split, no padding again
        out = n.run(m.tokens(), out, m.collectFeatures());
      }
      List<HiddenState> states = out.split();
      List<float[]> embeddings = m.exitHere() ? (n != null ? nextHead : head).applyAll(out, states, null) : null;
      long nanos = System.nanoTime() - start;
      return new Finished(m.batchId(), n != null, m.statesBack() ? states : null, embeddings,
          out.longest() * states.size(), nanos, n != null ? firstNanos : nanos, m.replyTo());
    })), blocking);
    lastWork = work;
    ctx.pipeToSelf(work,
        (done, error) -> error == null ? done : new Crashed(m.batchId(), Failures.unwrap(error), m.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onFinished(Finished m) {
    busy = false;
    m.replyTo().tell(new BatchDone(stage, ctx.getSelf(), m.batchId(), m.states(), m.embeddings(), m.paddedTokens(),
        m.nanos(), m.through(), m.firstNanos()));
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
    StageSession own = session;
    StageSession through = next;
    session = null;
    next = null;
    pending.whenComplete((r, e) -> {
      if (own == null && r instanceof Opened opened) { // still opening when stopped
        closeQuietly(opened.session());
        closeQuietly(opened.next());
      }
      closeQuietly(own);
      closeQuietly(through);
    });
    return Behaviors.same();
  }

  private static void closeQuietly(StageSession s) {
    if (s != null) {
      try {
        s.close();
      } catch (Exception closeError) {
        // Nothing more to do for a session being thrown away.
      }
    }
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
