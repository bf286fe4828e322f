package dev.exitflow.actors;

import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The stages' queues and their workers, for the scheduler: which due batch goes to which worker,
 * which batches are running, and the bookkeeping when one comes back, fails or loses its worker.
 * Plain: the scheduler calls it on its own thread and decides what becomes of the requests.
 */
final class StageDispatch {
  private final StageBatcher[] batchers;
  private final WorkerPool workers;
  private final ExitRules rules;
  private final RuntimeSettings settings;
  private final RunningBatches running = new RunningBatches();

  StageDispatch(int stages, WorkerPool workers, ExitRules rules, RuntimeSettings settings) {
    this.batchers = new StageBatcher[stages];
    for (int s = 0; s < stages; s++) {
      // Later stages need no capacity of their own: admission bounds everything in flight.
      batchers[s] = new StageBatcher(s, settings.batching(), s == 0 ? settings.firstStageQueueCapacity() : Integer.MAX_VALUE);
    }
    this.workers = workers;
    this.rules = rules;
    this.settings = settings;
  }

  StageBatcher queue(int stage) {
    return batchers[stage];
  }

  /** Every stage's queue, first to last (admission predicts from them). */
  StageBatcher[] queues() {
    return batchers;
  }

  /**
   * Sends every due batch of {@code stage} (everything queued when {@code flush}) to a worker with
   * room. A batch carries its members' hidden states as they are; the worker pads them into one
   * input. {@code interactive}: interactive requests are in the runtime, so bulk work alone runs
   * only within its share. Returns the nanoseconds until the stage's next batch is due, or -1
   * when no timer is needed (nothing queued, or no room: a returning batch dispatches again).
   */
  long dispatch(int stage, boolean flush, boolean interactive, ActorRef<StageWorker.Outcome> replyTo, long now) {
    StageBatcher b = batchers[stage];
    while (b.due(now, flush) && canTake(stage, b, now, interactive)) {
      boolean urgent = urgent(b, now);
      ActorRef<StageWorker.Command> worker = workers.hasFree(stage) ? workers.takeFree(stage)
          : workers.hasSlotAhead(stage) ? workers.takeSlotAhead(stage) : workers.takeWaitingSlot(stage);
      // Beside interactive traffic, bulk work goes only in its own short batches, within its share.
      RuntimeSettings.Batching limits = settings.batching();
      boolean besideInteractive = interactive && !urgent;
      boolean full = b.full();
      List<Pending> members = b.nextBatch(now, urgent && interactive ? dueSoon(now) : Long.MAX_VALUE,
          besideInteractive ? limits.bulkBatchSizeBesideInteractive() : limits.maxBatchSize(),
          besideInteractive ? limits.bulkPaddedTokensBesideInteractive() : limits.maxPaddedTokens());
      long id = running.start(stage, members, worker, !urgent, full);
      List<TokenizedText> tokens = members.stream().map(p -> p.tokens).toList();
      List<HiddenState> states = stage == 0 ? null : members.stream().map(p -> p.state).toList();
      // Features pooled here serve every later exit too, so the next stage of a run through needs no more.
      boolean collect = members.stream().anyMatch(p -> rules.needsFeatures(p, stage));
      boolean reserve = stage < rules.firstServedStage();
      long atRiskBefore = reserve ? reserveRiskNanos(stage, now) : 0;
      boolean exitHere = members.stream().anyMatch(p -> rules.mayLeaveAt(p, stage)
          && (!reserve || p.deadlineNanos < atRiskBefore));
      // At a reserve exit's stage, a batch none of whose members may have to leave there runs on
      // through the next stage at the same worker: the path through the first exit costs what it
      // costs without a reserve (one run, one batching round), and only a batch at risk stops there.
      boolean through = reserve && !exitHere;
      int last = through ? stage + 1 : stage;
      boolean exitAtLast = through ? members.stream().anyMatch(p -> rules.mayLeaveAt(p, last)) : exitHere;
      boolean statesBack = members.stream().anyMatch(p -> ExitRouter.mayGoOn(p, last, rules.lastStage()));
      worker.tell(new StageWorker.Run(id, tokens, states, collect, exitAtLast, statesBack, through, replyTo));
    }
    return !b.isEmpty() && canTake(stage, b, now, interactive) ? b.nanosUntilDue(now) : -1;
  }

  /**
   * Before the reserve exit's stage computes a batch: a member whose deadline comes before the
   * returned time may have to leave there, so the batch applies the reserve's exit head (the router
   * decides once the batch is back, from the next stage's expected wait and compute then). The
   * margin, the batch's own compute and twice the next stage's wait and compute now, is wide: a
   * head computed for nothing costs little, one missing sends a request on to be late.
   */
  private long reserveRiskNanos(int stage, long now) {
    return now + batchers[stage].expectedComputeNanos() + 2 * expectedNanosAt(stage + 1, now);
  }

  /**
   * Whether the stage's next batch may start: a worker holding nothing, or, for an urgent batch
   * that is already full, any idle slot, or a worker holding nothing on a node whose compute slots
   * are busy (the batch waits there for one: {@link WorkerPool#hasSlotAhead}); for bulk work,
   * while interactive requests are in the runtime, only within bulk work's share. A worker's
   * second slot lets the next batch start without a round trip, but a batch waiting at a worker
   * can neither grow nor be overtaken: a batch that is not full waits in the queue instead,
   * gathering the requests that arrive while the workers compute (sent to the second slot after the batching delay, batches stayed at a few
   * requests under open-loop arrivals, and the first exit served half its closed-loop rate), and
   * bulk work waits there so an interactive request arriving behind it goes first.
   */
  private boolean canTake(int stage, StageBatcher b, long now, boolean interactive) {
    if (urgent(b, now)) {
      return workers.hasFree(stage)
          || (b.full() && (workers.hasWaitingSlot(stage) || workers.hasSlotAhead(stage))
              && !moreUrgentStageWaits(stage, b, now));
    }
    return workers.hasFree(stage) && (!interactive || running.bulk() < settings.batching().bulkBesideInteractive());
  }

  /**
   * Whether another stage has a due batch more urgent than this stage's and no free worker: then
   * this stage does not queue its next batch at a busy worker, so that worker's node frees a place
   * in its budget for the other stage. (Without it, a first stage kept full under 3x overload
   * refilled its workers' second slots forever and the few requests going deeper waited up to 11 s.)
   */
  private boolean moreUrgentStageWaits(int stage, StageBatcher b, long now) {
    long ours = b.mostUrgentNanos(); // a scan of the queue: once, not per stage
    for (int s = 0; s < batchers.length; s++) {
      if (s != stage && batchers[s].due(now, false) && batchers[s].mostUrgentNanos() < ours
          && !workers.hasFree(s)) {
        return true;
      }
    }
    return false;
  }

  /** The queue's most urgent request is due within the interactive slack (interactive, or has a deadline). */
  private boolean urgent(StageBatcher b, long now) {
    return b.mostUrgentNanos() <= dueSoon(now);
  }

  private long dueSoon(long now) {
    return now + settings.batching().interactiveSlack().toNanos();
  }

  /**
   * A batch ran: its worker has room again; returns the batch, measured, or null when no longer
   * known. A batch that ran through the next stage counts at its own stage with its own stage's
   * compute (what a batch stopping there at its reserve exit takes), and at the next with the rest.
   */
  RunningBatches.Batch done(StageWorker.BatchDone d, long now) {
    workers.release(d.worker(), d.stage());
    RunningBatches.Batch batch = running.finish(d.batchId());
    if (batch != null) {
      int size = batch.members().size();
      long tokens = StageBatcher.tokens(batch.members());
      batchers[d.stage()].recordBatch(size, tokens, d.firstStageNanos(), now, batch.full());
      if (d.through()) {
        batchers[d.lastStage()].recordCompute(size, tokens, d.computeNanos() - d.firstStageNanos());
      }
    }
    return batch;
  }

  /** A batch failed (its worker restarts with a fresh session); returns it, or null when no longer known. */
  RunningBatches.Batch failed(StageWorker.BatchFailed f) {
    workers.release(f.worker(), f.stage());
    RunningBatches.Batch batch = running.remove(f.batchId());
    if (batch != null) {
      batchers[f.stage()].released(batch.members().size(), StageBatcher.tokens(batch.members()));
    }
    return batch;
  }

  /** A worker left the pool: returns the batches it held, no longer running. */
  List<RunningBatches.Batch> lost(ActorRef<StageWorker.Command> worker) {
    List<RunningBatches.Batch> held = running.removeHeldBy(worker);
    held.forEach(batch -> batchers[batch.stage()].released(batch.members().size(), StageBatcher.tokens(batch.members())));
    return held;
  }

  /**
   * Puts the members of a batch that did not finish back at the front of its stage's queue, once
   * per allowed retry each; returns those out of retries.
   */
  List<Pending> requeue(RunningBatches.Batch batch) {
    long now = System.nanoTime();
    List<Pending> outOfRetries = new ArrayList<>();
    for (Pending p : batch.members()) {
      if (p.retries < settings.lostBatchRetries()) {
        p.retries++;
        batchers[batch.stage()].requeue(p, now);
      } else {
        outOfRetries.add(p);
      }
    }
    return outOfRetries;
  }

  /**
   * The stages in the order their batches should get a free worker: the one whose most urgent
   * queued request is due first leads (under a deadline that is usually the deepest, whose requests
   * arrived earliest); empty queues last.
   */
  List<Integer> byUrgency() {
    long[] due = new long[batchers.length]; // each queue scanned once, not per comparison
    List<Integer> order = new ArrayList<>();
    for (int s = 0; s < batchers.length; s++) {
      due[s] = batchers[s].isEmpty() ? Long.MAX_VALUE : batchers[s].mostUrgentNanos();
      order.add(s);
    }
    // On a tie (the inputs of one request, a burst) the furthest stage first: its inputs are the
    // next to leave, which is what Retry-After at the in-flight limit counts on (with the first
    // stage first, all of a 64-input request passed it before any left, and a client honouring
    // Retry-After ran out of retries).
    order.sort(Comparator.comparingLong((Integer s) -> due[s]).thenComparing(Comparator.reverseOrder()));
    return order;
  }

  /** Expected wait and compute at {@code stage} for a request joining its queue now. */
  long expectedNanosAt(int stage, long now) {
    return batchers[stage].expectedWaitNanos(now, workers.workersAt(stage)) + batchers[stage].expectedComputeNanos();
  }

  /** The worst stage's queueing delay: the depth controller's measure of load. */
  long worstQueueDelayNanos(long now) {
    long worst = 0;
    for (int s = 0; s < batchers.length; s++) {
      worst = Math.max(worst, batchers[s].queueDelayNanos(now, workers.workersAt(s)));
    }
    return worst;
  }

  List<StageStats> stats(long now) {
    List<StageStats> stages = new ArrayList<>();
    for (int s = 0; s < batchers.length; s++) {
      stages.add(batchers[s].stats(now, workers.workersAt(s)));
    }
    return stages;
  }

  java.util.Map<String, Long> batchesByNode() {
    return running.doneByNode();
  }

  /** Removes every request, queued or running (their batches' results will be ignored). */
  List<Pending> removeAll() {
    List<Pending> all = new ArrayList<>();
    for (StageBatcher b : batchers) {
      all.addAll(b.drainAll());
    }
    running.removeAll().forEach(batch -> all.addAll(batch.members()));
    return all;
  }
}
