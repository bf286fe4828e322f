package dev.exitflow.actors;

import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.pattern.StatusReply;

/**
 * The runtime's coordinator. It admits requests into the first stage's queue (or rejects them as
 * {@link Overloaded}), has {@link StageDispatch} hand each stage's due batches to its
 * {@link StageWorker}s, and at every exit point asks the {@link ExitRouter} whether each request
 * of a finished batch leaves ({@link Replies} answers it) or joins the next stage's queue, where
 * it is re-batched with other continuing requests. A timer has {@link ControllerFeed} feed the
 * {@link DepthController}.
 *
 * <p>Inference never runs here: this actor only moves requests, so one of it keeps up with many
 * workers. Its workers come from a {@link WorkerSource}: spawned here, or found through the
 * Receptionist, anywhere in a cluster; when a worker's node goes away the batches it held are
 * re-queued for another worker (a bounded number of times) before their requests fail with
 * {@link WorkerLost}. The rules it applies live elsewhere: {@link Admission} (who enters),
 * {@link ExitRules} (where a request may leave), {@link StageBatcher} (what is batched together),
 * {@link ExitRouter} (whether it leaves now) and {@link WorkerPool} (who has room); this actor
 * only handles messages.
 */
public final class Scheduler extends AbstractBehavior<Scheduler.Command> {
  public interface Command {}

  /**
   * Admit one tokenized request; the reply is its result or a typed error. {@code early}, when not
   * null, also receives the result at the first exit if the request continues past it (a preview
   * that costs nothing extra: the deep result is computed from the same hidden state).
   */
  public record Submit(EmbeddingRequest request, TokenizedText tokens, long submittedNanos,
      ActorRef<StatusReply<EmbeddingResult>> replyTo, Consumer<EmbeddingResult> early) implements Command {}

  /**
   * Admit the inputs of one request as a unit: all of them enter the first stage's queue, or none
   * does and the reply is {@link Overloaded}, so nothing of a refused request is computed. The
   * reply is every result, in order, or the first error.
   */
  public record SubmitAll(List<EmbeddingRequest> requests, List<TokenizedText> tokens, long submittedNanos,
      ActorRef<StatusReply<List<EmbeddingResult>>> replyTo) implements Command {}

  public record GetStats(ActorRef<RuntimeStats> replyTo) implements Command {}

  /** Stop admitting, finish what is in flight, reply, then stop (workers close their sessions). */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  private record FromWorker(StageWorker.Outcome outcome) implements Command {}

  private record BatchDue(int stage) implements Command {}

  private record Listed(Receptionist.Listing listing) implements Command {}

  private record WorkerGone(ActorRef<StageWorker.Command> worker) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum DrainTimedOut implements Command { INSTANCE }

  public static Behavior<Command> create(RuntimeLayout layout, RuntimeSettings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Scheduler(ctx, timers, layout, settings)));
  }

  private final TimerScheduler<Command> timers;
  private final RuntimeLayout layout;
  private final RuntimeSettings settings;
  private final WorkerPool workers;
  private final StageDispatch stages;
  private final Replies replies;
  private final DepthController controller;
  private final ExitRules rules;
  private final Admission admission;
  private final ActorRef<StageWorker.Outcome> outcomes;
  private final ExitRouter router;
  private final ControllerFeed feed;
  private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();
  private boolean draining;
  /** The runtime's idle time ({@link Replies#idleNanos}) at the last tick: admission's share relaxes by what came since. */
  private long idleAtLastTick;

  private Scheduler(ActorContext<Command> ctx, TimerScheduler<Command> timers, RuntimeLayout layout,
      RuntimeSettings settings) {
    super(ctx);
    this.timers = timers;
    this.layout = layout;
    this.settings = settings;
    this.controller = new DepthController(layout.stages(), layout.reserveStages(), settings.controller());
    this.outcomes = ctx.messageAdapter(StageWorker.Outcome.class, FromWorker::new);
    int perStage = layout.workers() instanceof WorkerSource.Local local ? local.perStage() : 0;
    this.workers = new WorkerPool(layout.stages(), perStage, settings.batchesPerWorker(),
        settings.busyWorkersPerNode(), settings.batchesAheadPerNode(), layout.readiness());
    this.rules = new ExitRules(layout.exitLayers(), layout.reserveStages(), layout.heads(), layout.features(),
        settings.autoUsesUncalibratedExits());
    this.stages = new StageDispatch(layout.stages(), workers, rules, settings);
    this.replies = new Replies(rules, layout.listener());
    this.admission = new Admission(settings, rules, stages.queues(), workers, replies, layout.listener());
    this.router = new ExitRouter(rules, controller);
    this.feed = new ControllerFeed(controller, stages, workers, admission);
    layout.workers().start(ctx, layout.heads(), settings.inferenceDispatcher(), outcomes,
        ctx.messageAdapter(Receptionist.Listing.class, Listed::new));
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.controller().interval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Submit.class, this::onSubmit)
        .onMessage(SubmitAll.class, this::onSubmitAll)
        .onMessage(FromWorker.class, this::onWorker)
        .onMessage(BatchDue.class, m -> afterChange())
        .onMessage(Listed.class, this::onListed)
        .onMessage(WorkerGone.class, m -> lost(m.worker(), "stopped"))
        .onMessage(Tick.class, m -> onTick())
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(DrainTimedOut.class, m -> onDrainTimedOut())
        .build();
  }

  private Behavior<Command> onSubmit(Submit m) {
    return admit(List.of(m.request()), m.tokens().length(), m.submittedNanos(), e -> m.replyTo().tell(StatusReply.error(e)), () ->
        List.of(new Pending(m.request(), m.tokens(), m.replyTo(), m.early(), rules.targetStage(m.request()))));
  }

  private Behavior<Command> onSubmitAll(SubmitAll m) {
    return admit(m.requests(), m.tokens().stream().mapToLong(TokenizedText::length).sum(), m.submittedNanos(),
        e -> m.replyTo().tell(StatusReply.error(e)),
        () -> RequestGroup.members(m.requests(), m.tokens(), m.replyTo(), rules::targetStage));
  }

  /**
   * Admits a request's inputs whole into the first stage's queue ({@code pending} makes them), or
   * tells {@code refuse} why not: shutting down, a stage without workers, or {@link Admission}'s no
   * ({@code tokens}: the inputs' tokens in all, which its prediction counts; {@code submitted}: when
   * the caller handed them to the runtime, which their deadlines count from).
   */
  private Behavior<Command> admit(List<EmbeddingRequest> requests, long tokens, long submitted,
      Consumer<Throwable> refuse, Supplier<List<Pending>> pending) {
    long now = System.nanoTime();
    Throwable refused = draining ? new ShuttingDown()
        : layout.clustered() && !workers.complete() ? new NoWorkers(layout.configuredStageNumbers(workers.stagesWithoutWorkers()))
        : admission.refusal(requests, tokens, submitted, now);
    if (refused != null) {
      refuse.accept(refused);
      return this;
    }
    List<Pending> members = pending.get();
    members.forEach(p -> stages.queue(0).offer(admission.prepare(p, submitted, now), now));
    replies.admitted(members);
    return afterChange();
  }

  private Behavior<Command> onWorker(FromWorker m) {
    StageWorker.Outcome o = m.outcome();
    if (o instanceof StageWorker.Ready r) {
      join(r.worker(), r.stage()); // again after a restart: already known, nothing changes
      return afterChange();
    }
    if (o instanceof StageWorker.BatchDone d) {
      return onBatchDone(d);
    }
    StageWorker.BatchFailed f = (StageWorker.BatchFailed) o;
    // The worker restarts with a fresh session; runs sent meanwhile wait in its stash.
    RunningBatches.Batch batch = stages.failed(f);
    if (batch != null && f.ran()) {
      batch.members().forEach(p -> replies.fail(p, new InferenceFailed(f.stage(), f.error())));
    } else if (batch != null) {
      retryOrFail(batch, "restarted before running it");
    }
    return afterChange();
  }

  /** A worker starts serving: it is watched, and idle until given a batch. */
  private void join(ActorRef<StageWorker.Command> worker, int stage) {
    if (workers.join(worker, stage)) {
      getContext().watchWith(worker, new WorkerGone(worker));
    }
  }

  /** The Receptionist's view of one stage's workers changed: join the new ones, give up on the missing. */
  private Behavior<Command> onListed(Listed m) {
    WorkerSource.Discovered discovered = (WorkerSource.Discovered) layout.workers();
    int stage = discovered.stageOf(m.listing().getKey());
    Set<ActorRef<StageWorker.Command>> listed = m.listing().getServiceInstances(discovered.keys().get(stage));
    listed.forEach(w -> join(w, stage));
    workers.unlisted(stage, listed).forEach(w -> lost(w, "left the cluster"));
    return afterChange();
  }

  /** A worker is gone (its node left or crashed, or it stopped): its batches go to another worker. */
  private Behavior<Command> lost(ActorRef<StageWorker.Command> worker, String why) {
    Integer stage = workers.leave(worker);
    if (stage == null) {
      return this;
    }
    getContext().unwatch(worker);
    List<RunningBatches.Batch> held = stages.lost(worker);
    getContext().getLog().warn("stage {} worker {} {}; {} running batch(es) go back to the queue", stage + 1,
        worker.path(), why, held.size());
    held.forEach(batch -> retryOrFail(batch, "on " + worker.path().address() + " " + why));
    return afterChange();
  }

  /** Puts a batch that did not finish back in its stage's queue, once per allowed retry per request. */
  private void retryOrFail(RunningBatches.Batch batch, String what) {
    stages.requeue(batch).forEach(p -> replies.fail(p, new WorkerLost(batch.stage(), what, p.retries)));
  }

  /** A batch ran: each of its requests leaves here (its reply is sent) or joins the next stage's queue. */
  private Behavior<Command> onBatchDone(StageWorker.BatchDone d) {
    int stage = d.stage();
    long now = System.nanoTime();
    RunningBatches.Batch batch = stages.done(d, now);
    if (batch == null) {
      return afterChange(); // failed by a drain timeout, or re-queued when its worker was thought lost
    }
    int last = d.lastStage(); // past the next stage too, when the batch ran through it
    layout.listener().onBatch(stage, batch.members().size(), d.paddedTokens(), d.firstStageNanos());
    if (last != stage) {
      layout.listener().onBatch(last, batch.members().size(), d.paddedTokens(), d.computeNanos() - d.firstStageNanos());
    }
    List<HiddenState> states = d.states(); // null when no member may go on
    long nextStageNanos = last < rules.lastStage() ? stages.expectedNanosAt(last + 1, now) : 0;
    for (int i = 0; i < batch.members().size(); i++) {
      Pending p = batch.members().get(i);
      p.ran(states == null ? null : states.get(i), d.embeddings() == null ? null : d.embeddings().get(i),
          d.computeNanos());
      ExitRouter.Decision decision = router.decide(p, last, nextStageNanos, now);
      if (decision.exit()) {
        replies.complete(p, last, decision.reason());
        admission.finished(p, now);
      } else {
        replies.preview(p, last);
        stages.queue(last + 1).offer(p, now);
      }
    }
    return afterChange();
  }

  /** Sends the stage's due batches to its workers and re-arms its delay timer. */
  private void dispatch(int stage) {
    long untilDue = stages.dispatch(stage, draining, replies.interactiveInFlight > 0, outcomes, System.nanoTime());
    if (untilDue >= 0) {
      timers.startSingleTimer(stage, new BatchDue(stage), Duration.ofNanos(untilDue));
    }
  }

  /**
   * Dispatches at every stage after a change, most urgent stage first (they share the node's
   * budget of busy workers): requests may have moved on to the next stage, and bulk work held back
   * for its share may go now that a batch came back.
   */
  private Behavior<Command> afterChange() {
    for (int s : stages.byUrgency()) {
      dispatch(s);
    }
    if (draining && replies.inFlight == 0) {
      drainWaiters.forEach(w -> w.tell(Done.getInstance()));
      return Behaviors.stopped();
    }
    return this;
  }

  private Behavior<Command> onTick() {
    long now = System.nanoTime();
    feed.tick(now);
    long idle = replies.idleNanos(now);
    admission.share.idle(idle - idleAtLastTick); // the runtime's idle time since the last tick
    idleAtLastTick = idle;
    return this;
  }

  private Behavior<Command> onGetStats(GetStats m) {
    m.replyTo().tell(new RuntimeStats(stages.stats(System.nanoTime()), controller.level(), admission.share.value(),
        replies.inFlight, admission.admitted, admission.rejected, admission.rejectedInputs, replies.failed,
        replies.byExit(), replies.byReason(), workers.size(), stages.batchesByNode()));
    return this;
  }

  private Behavior<Command> onDrain(Drain m) {
    drainWaiters.add(m.replyTo());
    if (!draining) {
      draining = true;
      timers.startSingleTimer(DrainTimedOut.INSTANCE, settings.drainTimeout());
    }
    return afterChange();
  }

  /** Drain took too long: everything still queued or running fails with a clear error. */
  private Behavior<Command> onDrainTimedOut() {
    stages.removeAll().forEach(p -> replies.fail(p, new ShuttingDown()));
    drainWaiters.forEach(w -> w.tell(Done.getInstance()));
    return Behaviors.stopped();
  }
}
