package dev.exitflow.actors;

import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.runtime.PaddedBatch;
import dev.exitflow.model.runtime.StageSession;
import dev.exitflow.model.tokenize.TokenizedText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.pattern.StatusReply;

/**
 * The runtime's coordinator. It admits requests into the first stage's queue (or rejects them as
 * {@link Overloaded}), hands due batches from each stage's {@link StageBatcher} to that stage's idle
 * {@link StageWorker}s, and at every exit point asks the {@link ExitRouter} whether each request
 * of a finished batch leaves (it then replies) or joins the next stage's queue, where it is
 * re-batched with other continuing requests. A timer feeds the {@link DepthController}.
 *
 * <p>Inference never runs here: this actor only moves requests, so one of it keeps up with many
 * workers. In one process it spawns its workers; in a cluster it finds them through the
 * Receptionist, anywhere, and when a worker's node goes away the batch it was running is
 * re-queued for another worker (a bounded number of times) before its requests fail with
 * {@link WorkerLost}.
 */
public final class Scheduler extends AbstractBehavior<Scheduler.Command> {
  public interface Command {}

  /**
   * Admit one tokenized request; the reply is its result or a typed error. {@code early}, when not
   * null, also receives the result at the first exit if the request continues past it (a preview
   * that costs nothing extra: the deep result is computed from the same hidden state).
   */
  public record Submit(EmbeddingRequest request, TokenizedText tokens, ActorRef<StatusReply<EmbeddingResult>> replyTo,
      java.util.function.Consumer<EmbeddingResult> early) implements Command {
    public Submit(EmbeddingRequest request, TokenizedText tokens, ActorRef<StatusReply<EmbeddingResult>> replyTo) {
      this(request, tokens, replyTo, null);
    }
  }

  /**
   * Admit the inputs of one request as a unit: all of them enter the first stage's queue, or none
   * does and the reply is {@link Overloaded}, so nothing of a refused request is computed. The
   * reply is every result, in order, or the first error.
   */
  public record SubmitAll(List<EmbeddingRequest> requests, List<TokenizedText> tokens,
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

  /**
   * What the scheduler needs to know of the model: its exits and heads, and where its workers come
   * from: {@code sessions} to spawn them here, or else {@code workerKeys} (one per stage) to find
   * them with the Receptionist. {@code readiness} hears whenever the runtime becomes able, or
   * unable, to serve every exit (in a cluster, workers come and go).
   */
  public record Plan(List<Integer> exitLayers, List<ExitHead> heads, int hiddenSize, SessionOpener sessions,
      List<ServiceKey<StageWorker.Command>> workerKeys, RuntimeListener listener, Consumer<Boolean> readiness) {
    int stages() {
      return exitLayers.size();
    }

    boolean clustered() {
      return sessions == null;
    }
  }

  /** Opens the session of one worker ({@code worker}, counted from 0) of {@code stage} (from 0). */
  public interface SessionOpener {
    StageSession open(int stage, int worker) throws Exception;
  }

  public static Behavior<Command> create(Plan plan, RuntimeSettings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Scheduler(ctx, timers, plan, settings)));
  }

  private record RunningBatch(int stage, List<Pending> members, ActorRef<StageWorker.Command> worker) {}

  private final TimerScheduler<Command> timers;
  private final Plan plan;
  private final RuntimeSettings settings;
  private final int lastStage;
  private final StageBatcher[] batchers;
  private final WorkerPool workers;
  private final Map<String, Long> batchesByNode = new TreeMap<>();
  private final Map<Long, RunningBatch> running = new HashMap<>();
  private final DepthController controller;
  private final ExitRules rules;
  private final Admission admission;
  private final ActorRef<StageWorker.Outcome> outcomes;
  private final SplittableRandom random = new SplittableRandom();
  private boolean ready;
  private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();

  private long nextBatchId;
  private int inFlight;
  private long failed;
  private long rejectedAtLastTick;
  private final Map<Integer, Long> byExit = new TreeMap<>();
  private final Map<ExitReason, Long> byReason = new EnumMap<>(ExitReason.class);
  private boolean draining;

  private Scheduler(ActorContext<Command> ctx, TimerScheduler<Command> timers, Plan plan, RuntimeSettings settings) {
    super(ctx);
    this.timers = timers;
    this.plan = plan;
    this.settings = settings;
    this.lastStage = plan.stages() - 1;
    this.batchers = new StageBatcher[plan.stages()];
    this.controller = new DepthController(plan.stages(), settings.controller());
    this.outcomes = ctx.messageAdapter(StageWorker.Outcome.class, FromWorker::new);
    this.workers = new WorkerPool(plan.stages(), plan.clustered() ? 0 : settings.workersPerStage(),
        settings.batchesPerWorker());
    this.rules = new ExitRules(plan.exitLayers(), plan.heads(), settings.autoUsesUncalibratedExits());
    this.admission = new Admission(settings, rules, batchers, workers, plan.listener());
    for (int s = 0; s < plan.stages(); s++) {
      // Later stages need no capacity of their own: admission bounds everything in flight.
      int capacity = s == 0 ? settings.firstStageQueueCapacity() : Integer.MAX_VALUE;
      batchers[s] = new StageBatcher(s, settings.batching(), capacity);
      for (int w = 0; w < settings.workersPerStage() && !plan.clustered(); w++) {
        int stage = s;
        int worker = w;
        ctx.spawn(StageWorker.create(s, () -> plan.sessions().open(stage, worker), plan.heads().get(s),
                settings.inferenceDispatcher(), outcomes),
            "stage-" + (s + 1) + "-worker-" + (w + 1));
      }
    }
    if (plan.clustered()) {
      ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, Listed::new);
      plan.workerKeys().forEach(key -> ctx.getSystem().receptionist().tell(Receptionist.subscribe(key, listings)));
    }
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.controller().interval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Submit.class, this::onSubmit)
        .onMessage(SubmitAll.class, this::onSubmitAll)
        .onMessage(FromWorker.class, this::onWorker)
        .onMessage(BatchDue.class, m -> afterChange(m.stage()))
        .onMessage(Listed.class, this::onListed)
        .onMessage(WorkerGone.class, m -> {
          lost(m.worker(), "stopped");
          return this;
        })
        .onMessage(Tick.class, m -> onTick())
        .onMessage(GetStats.class, this::onGetStats)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(DrainTimedOut.class, m -> onDrainTimedOut())
        .build();
  }

  private Behavior<Command> onSubmit(Submit m) {
    Throwable refused = refusal(List.of(m.request()));
    if (refused != null) {
      m.replyTo().tell(StatusReply.error(refused));
      return this;
    }
    long now = System.nanoTime();
    Pending p = prepare(new Pending(m.request(), m.tokens(), m.replyTo(), rules.targetStage(m.request()), now), now);
    p.early = m.early();
    return admit(List.of(p), now);
  }

  private Behavior<Command> onSubmitAll(SubmitAll m) {
    Throwable refused = refusal(m.requests());
    if (refused != null) {
      m.replyTo().tell(StatusReply.error(refused));
      return this;
    }
    long now = System.nanoTime();
    RequestGroup group = new RequestGroup(m.requests().size(), m.replyTo());
    List<Pending> members = new ArrayList<>(m.requests().size());
    for (int i = 0; i < m.requests().size(); i++) {
      EmbeddingRequest r = m.requests().get(i);
      members.add(prepare(new Pending(r, m.tokens().get(i), group, i, rules.targetStage(r), now), now));
    }
    return admit(members, now);
  }

  /** Why these inputs cannot be admitted now (all of them: a request is admitted whole), or null. */
  private Throwable refusal(List<EmbeddingRequest> requests) {
    if (draining) {
      return new ShuttingDown();
    }
    if (plan.clustered() && !ready) {
      return new NoWorkers(workers.stagesWithoutWorkers());
    }
    return admission.refusal(requests, inFlight, System.nanoTime());
  }

  /** Sets what admission decides of an admitted request: its quality floor, deadline and urgency. */
  private Pending prepare(Pending p, long now) {
    p.minStage = rules.floorStage(p.request.minFidelity());
    Long deadline = admission.deadlineMs(p.request);
    p.deadlineNanos = deadline == null ? Long.MAX_VALUE : now + deadline * 1_000_000L;
    p.urgencyNanos = admission.urgencyNanos(p.request, now);
    return p;
  }

  /** Queues requests that {@link #refusal} found room for. */
  private Behavior<Command> admit(List<Pending> members, long now) {
    for (Pending p : members) {
      batchers[0].offer(p, now);
    }
    inFlight += members.size();
    return afterChange(0);
  }

  private Behavior<Command> onWorker(FromWorker m) {
    StageWorker.Outcome o = m.outcome();
    if (o instanceof StageWorker.Ready r) {
      join(r.worker(), r.stage()); // again after a restart: already known, nothing changes
      return afterChange(r.stage());
    }
    if (o instanceof StageWorker.BatchDone d) {
      return onBatchDone(d);
    }
    StageWorker.BatchFailed f = (StageWorker.BatchFailed) o;
    RunningBatch batch = running.remove(f.batchId());
    // The worker restarts with a fresh session; runs sent meanwhile wait in its stash.
    workers.release(f.worker(), f.stage());
    if (batch != null) {
      batchers[f.stage()].released(batch.members().size());
    }
    if (batch != null && f.ran()) {
      batch.members().forEach(p -> fail(p, new InferenceFailed(f.stage(), f.error())));
    } else if (batch != null) {
      retryOrFail(batch, "restarted before running it");
    }
    return afterChange(f.stage());
  }

  /** A worker starts serving: it is watched, and idle until given a batch. */
  private void join(ActorRef<StageWorker.Command> worker, int stage) {
    if (workers.join(worker, stage)) {
      getContext().watchWith(worker, new WorkerGone(worker));
      updateReadiness();
    }
  }

  private void updateReadiness() {
    if (workers.complete() != ready) {
      ready = !ready;
      plan.readiness().accept(ready);
    }
  }

  /** The Receptionist's view of one stage's workers changed: join the new ones, give up on the missing. */
  private Behavior<Command> onListed(Listed m) {
    int stage = plan.workerKeys().indexOf(m.listing().getKey());
    Set<ActorRef<StageWorker.Command>> listed = m.listing().getServiceInstances(plan.workerKeys().get(stage));
    listed.forEach(w -> join(w, stage));
    workers.unlisted(stage, listed).forEach(w -> lost(w, "left the cluster"));
    return afterChange(stage);
  }

  /** A worker is gone (its node left or crashed, or it stopped): its running batches go to another worker. */
  private void lost(ActorRef<StageWorker.Command> worker, String why) {
    Integer stage = workers.leave(worker);
    if (stage == null) {
      return;
    }
    getContext().unwatch(worker);
    List<Long> itsBatches = running.entrySet().stream()
        .filter(e -> e.getValue().worker().equals(worker))
        .map(Map.Entry::getKey)
        .toList();
    getContext().getLog().warn("stage {} worker {} {}; {} running batch(es) go back to the queue", stage + 1,
        worker.path(), why, itsBatches.size());
    for (long id : itsBatches) {
      RunningBatch batch = running.remove(id);
      batchers[stage].released(batch.members().size());
      retryOrFail(batch, "on " + worker.path().address() + " " + why);
    }
    updateReadiness();
    dispatch(stage);
  }

  /** Puts a batch that did not finish back in its stage's queue, once per allowed retry per request. */
  private void retryOrFail(RunningBatch batch, String what) {
    long now = System.nanoTime();
    for (Pending p : batch.members()) {
      if (p.retries < settings.lostBatchRetries()) {
        p.retries++;
        batchers[batch.stage()].requeue(p, now);
      } else {
        fail(p, new WorkerLost(batch.stage(), what, p.retries));
      }
    }
  }

  private Behavior<Command> onBatchDone(StageWorker.BatchDone d) {
    int stage = d.stage();
    workers.release(d.worker(), stage);
    RunningBatch batch = running.remove(d.batchId());
    if (batch == null) {
      return afterChange(stage); // failed by a drain timeout, or re-queued when its worker was thought lost
    }
    batchesByNode.merge(d.worker().path().address().toString(), 1L, Long::sum);
    batchers[stage].recordBatch(batch.members().size(), d.computeNanos(), System.nanoTime());
    plan.listener().onBatch(stage, batch.members().size(), d.paddedTokens(), d.computeNanos());
    List<HiddenState> states = d.states();
    long now = System.nanoTime();
    long nextStageNanos = stage < lastStage
        ? batchers[stage + 1].expectedWaitNanos(now, workers.workersAt(stage + 1)) + batchers[stage + 1].expectedComputeNanos()
        : 0;
    for (int i = 0; i < states.size(); i++) {
      Pending p = batch.members().get(i);
      p.state = states.get(i);
      p.embedding = d.embeddings() == null ? null : d.embeddings().get(i);
      p.computeNanos += d.computeNanos();
      int allowed = controller.allowedStage(p.request.priority(), random.nextDouble());
      ExitRouter.Decision decision = ExitRouter.decide(p, stage, lastStage, allowed, nextStageNanos, now,
          !p.isAuto() || rules.autoMayLeaveAt(p, stage));
      if (decision.exit()) {
        complete(p, stage, decision.reason());
      } else {
        if (p.early != null && stage == 0 && p.embedding != null) {
          p.early.accept(result(p, stage, ExitReason.POLICY));
        }
        batchers[stage + 1].offer(p, now);
      }
    }
    if (stage < lastStage) {
      dispatch(stage + 1);
    }
    return afterChange(stage);
  }

  private EmbeddingResult result(Pending p, int stage, ExitReason reason) {
    if (p.embedding == null) { // ExitRules.mayLeaveAt decides; this would be a bug in it
      throw new IllegalStateException("no embedding at exit " + rules.layer(stage) + " for this request");
    }
    float[] vector = ExitHead.truncate(p.embedding, p.request.dimensions());
    return new EmbeddingResult(vector, rules.layer(stage), reason, p.length(), p.tokens.truncated(),
        p.queueNanos / 1e6, p.computeNanos / 1e6, rules.fidelity(stage));
  }

  private void complete(Pending p, int stage, ExitReason reason) {
    EmbeddingResult result;
    try {
      result = result(p, stage, reason);
    } catch (RuntimeException e) {
      fail(p, e);
      return;
    }
    int layer = result.exitLayer();
    p.succeed(result);
    byExit.merge(layer, 1L, Long::sum);
    byReason.merge(reason, 1L, Long::sum);
    plan.listener().onExit(layer, reason, p.request.priority());
    inFlight--;
  }

  private void fail(Pending p, Throwable error) {
    p.fail(error);
    plan.listener().onFailed();
    failed++;
    inFlight--;
  }

  /**
   * Whether the stage's next batch has a worker: any idle slot when it is urgent, else a worker
   * holding nothing. A worker's second slot lets the next batch start without a round trip, but a
   * batch waiting at a worker cannot be overtaken: bulk work without a deadline waits in the queue
   * instead, so an interactive request arriving behind it goes first.
   */
  private boolean canTake(int stage, StageBatcher b, long now) {
    return urgent(b, now) ? workers.hasIdle(stage) : workers.hasFree(stage);
  }

  /** The queue's most urgent request is due within the interactive slack (interactive, or has a deadline). */
  private boolean urgent(StageBatcher b, long now) {
    return b.mostUrgentNanos() <= now + settings.batching().interactiveSlack().toNanos();
  }

  /** Sends every due batch of a stage to its idle workers, then re-arms the stage's delay timer. */
  private void dispatch(int stage) {
    StageBatcher b = batchers[stage];
    long now = System.nanoTime();
    while (b.due(now, draining) && canTake(stage, b, now)) {
      ActorRef<StageWorker.Command> worker = urgent(b, now) ? workers.take(stage) : workers.takeFree(stage);
      List<Pending> members = b.nextBatch(now);
      long id = nextBatchId++;
      running.put(id, new RunningBatch(stage, members, worker));
      List<TokenizedText> tokens = members.stream().map(p -> p.tokens).toList();
      PaddedBatch input = stage == 0 ? null
          : PaddedBatch.of(tokens, members.stream().map(p -> p.state).toList(), plan.hiddenSize());
      boolean collect = members.stream().anyMatch(p -> rules.needsFeatures(p, stage));
      boolean exitHere = members.stream().anyMatch(p -> rules.mayLeaveAt(p, stage));
      worker.tell(new StageWorker.Run(id, tokens, input, collect, exitHere, outcomes));
    }
    if (!b.isEmpty() && canTake(stage, b, now)) {
      timers.startSingleTimer(stage, new BatchDue(stage), Duration.ofNanos(b.nanosUntilDue(now)));
    }
  }

  private Behavior<Command> afterChange(int stage) {
    dispatch(stage);
    if (draining && inFlight == 0) {
      drainWaiters.forEach(w -> w.tell(Done.getInstance()));
      return Behaviors.stopped();
    }
    return this;
  }

  /**
   * Feeds the controller the worst stage's queueing delay over its target, and at least twice the
   * target when admission refused anything since the last check: admission keeps the queues
   * short under overload, and short queues alone would tell the controller to give depth back.
   */
  private Behavior<Command> onTick() {
    long now = System.nanoTime();
    double worst = 0;
    for (int s = 0; s < batchers.length; s++) {
      worst = Math.max(worst, batchers[s].queueDelayNanos(now, workers.workersAt(s)));
    }
    double pressure = worst / settings.controller().targetQueueDelay().toNanos();
    if (admission.rejected > rejectedAtLastTick) {
      pressure = Math.max(pressure, 2.0);
    }
    rejectedAtLastTick = admission.rejected;
    controller.update(pressure);
    return this;
  }

  private Behavior<Command> onGetStats(GetStats m) {
    long now = System.nanoTime();
    List<StageStats> stages = new ArrayList<>();
    for (int s = 0; s < batchers.length; s++) {
      stages.add(batchers[s].stats(now, workers.workersAt(s)));
    }
    m.replyTo().tell(new RuntimeStats(stages, controller.level(), inFlight, admission.admitted, admission.rejected,
        admission.rejectedInputs, failed,
        Map.copyOf(byExit), Map.copyOf(byReason), workers.size(), Map.copyOf(batchesByNode)));
    return this;
  }

  private Behavior<Command> onDrain(Drain m) {
    drainWaiters.add(m.replyTo());
    if (!draining) {
      draining = true;
      timers.startSingleTimer(DrainTimedOut.INSTANCE, settings.drainTimeout());
    }
    Behavior<Command> next = this;
    for (int s = 0; s <= lastStage && next == this; s++) {
      next = afterChange(s);
    }
    return next;
  }

  /** Drain took too long: everything still queued or running fails with a clear error. */
  private Behavior<Command> onDrainTimedOut() {
    for (StageBatcher b : batchers) {
      b.drainAll().forEach(p -> fail(p, new ShuttingDown()));
    }
    running.values().forEach(batch -> batch.members().forEach(p -> fail(p, new ShuttingDown())));
    running.clear();
    drainWaiters.forEach(w -> w.tell(Done.getInstance()));
    return Behaviors.stopped();
  }
}
