package dev.exitflow.actors;

import dev.exitflow.model.InvalidInputException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Whether a request may enter the runtime, and the counts of what was admitted and refused. A
 * request is admitted whole or not at all. It is refused as {@link Overloaded} when the first
 * stage's queue or the runtime has no room for all of its inputs, and, for {@code auto} with a
 * deadline (its own, or for interactive requests the configured one), when the queue ahead would
 * make it miss that deadline even at the shallowest exit it may take: its caller is then better
 * told at once to retry than served late, and the requests queued behind it are not made late in
 * turn. A soft deadline ({@link EmbeddingRequest#softDeadline()}) is never refused for: a Kafka
 * record's is what its SLO leaves after its time in the topic, so a backlog's records arrive
 * already late and a retry only makes them later; they, and {@code /v1/bulk} lines, are served at
 * the shallowest exit they allow instead. Plain: the scheduler calls it on its own thread.
 */
final class Admission {
  private final RuntimeSettings settings;
  private final ExitRules rules;
  private final StageBatcher[] batchers;
  private final WorkerPool workers;
  private final Replies replies;
  private final RuntimeListener listener;

  /** Admitted {@code auto} inputs of one priority after idle before their rate since then is believed. */
  private static final int STEP_EVENTS = 16;

  long admitted;
  /**
   * Inputs of admitted {@code auto} requests a second, by priority ordinal, for the depth
   * controller's feed-forward: read through half the pressure's smoothing, so a load step shows
   * within a tenth of a second.
   */
  private final DecayingRate[] autoAdmitted = new DecayingRate[Priority.values().length];
  long rejected;
  long rejectedInputs;
  /** The share of a deadline a prediction may take, following how many admitted requests finish late. */
  final DeadlineShare share;

  Admission(RuntimeSettings settings, ExitRules rules, StageBatcher[] batchers, WorkerPool workers, Replies replies,
      RuntimeListener listener) {
    this.settings = settings;
    this.rules = rules;
    this.batchers = batchers;
    this.workers = workers;
    this.replies = replies;
    this.listener = listener;
    this.share = new DeadlineShare(settings.admission());
    Arrays.setAll(autoAdmitted, p -> new DecayingRate(settings.controller().smoothing().dividedBy(2)));
  }

  /**
   * {@code auto} inputs admitted a second lately, by priority ordinal; after a start from idle, the
   * rate since then once a few have come (a step of load from idle otherwise read low for a time
   * constant, and the requests of its first 100 ms or so went deep).
   */
  double[] autoPerSecond(long now) {
    return Arrays.stream(autoAdmitted).mapToDouble(r -> r.perSecondSinceStart(now, STEP_EVENTS)).toArray();
  }

  /**
   * The deadline a request is served under: its own, else the configured one for interactive
   * {@code auto}, else none (bulk work, such as the Kafka pipeline's records, has no latency
   * objective of its own: it is refused only when the queues are full).
   */
  Long deadlineMs(EmbeddingRequest r) {
    if (r.deadlineMs() != null) {
      return r.deadlineMs();
    }
    boolean interactiveAuto = r.exit() instanceof ExitPolicy.Auto && r.priority() == Priority.INTERACTIVE;
    return interactiveAuto ? settings.admission().defaultDeadline().toMillis() : null;
  }

  /**
   * Sets what admission decides of a request admitted {@code now}: its quality floor, deadline and
   * urgency. The deadline counts from {@code submitted}, when the caller handed it to the runtime.
   */
  Pending prepare(Pending p, long submitted, long now) {
    p.minStage = rules.floorStage(p.request.minFidelity());
    Long deadline = deadlineMs(p.request);
    p.deadlineNanos = deadline == null ? Long.MAX_VALUE : submitted + deadline * 1_000_000L;
    p.urgencyNanos = urgencyNanos(p.request, submitted, now);
    p.lateNanos = mayRefuse(p.request) ? share.lateAfterNanos(submitted, deadline * 1_000_000L) : Long.MAX_VALUE;
    return p;
  }

  /** An admitted request has left {@code now}: if admission could have refused it, the share hears whether it was late. */
  void finished(Pending p, long now) {
    if (p.lateNanos != Long.MAX_VALUE) {
      share.finished(now > p.lateNanos);
    }
  }

  /**
   * Whether admission refuses this request when it is predicted to miss its deadline: {@code auto}
   * with a deadline that is not soft.
   */
  private boolean mayRefuse(EmbeddingRequest r) {
    return r.exit() instanceof ExitPolicy.Auto && deadlineMs(r) != null && !r.softDeadline();
  }

  /**
   * When a request submitted at {@code submitted} and arriving {@code now} should be served by, for
   * earliest-deadline-first batching: its deadline, or without one a slack after arrival, longer for
   * bulk than for interactive.
   */
  long urgencyNanos(EmbeddingRequest r, long submitted, long now) {
    Long deadline = deadlineMs(r);
    return deadline != null ? submitted + deadline * 1_000_000L : now + settings.batching().slackNanos(r.priority());
  }

  /**
   * Why these inputs, of {@code tokens} tokens in all, submitted at {@code submitted}, cannot be
   * admitted now, or null.
   */
  Throwable refusal(List<EmbeddingRequest> requests, long tokens, long submitted, long now) {
    for (EmbeddingRequest r : requests) {
      if (rules.targetStage(r) < 0) { // the runtime's API validates first; this guards direct senders
        return InvalidInputException.unknownExit(String.valueOf(r.exit()), rules.exitLayers());
      }
    }
    int n = requests.size();
    int capacity = settings.firstStageQueueCapacity();
    if (n > capacity || n > settings.maxInFlight()) { // start-up checks the configured limits; this guards direct senders
      return new InvalidInputException("too_many_inputs", n + " inputs can never be admitted together: the first "
          + "stage's queue has " + capacity + " places and at most " + settings.maxInFlight() + " may be in flight");
    }
    Throwable refused = null;
    int inFlight = replies.inFlight;
    if (inFlight + n > settings.maxInFlight() || batchers[0].depth() + n > capacity) {
      refused = new Overloaded(n, batchers[0].depth(), capacity, inFlight, settings.maxInFlight(), retryAfter(n, inFlight, now));
    } else {
      for (EmbeddingRequest r : requests) {
        refused = mayRefuse(r) ? pastDeadline(r, tokens, submitted, now) : null;
        if (refused != null) {
          break;
        }
      }
    }
    if (refused != null) {
      rejected++;
      rejectedInputs += n;
      listener.onRejected(n);
      return refused;
    }
    admitted += n;
    for (EmbeddingRequest r : requests) {
      if (r.exit() instanceof ExitPolicy.Auto) {
        autoAdmitted[r.priority().ordinal()].record(1, now);
      }
    }
    return null;
  }

  /**
   * Refuses an {@code auto} request whose predicted completion at the shallowest exit it may take
   * is past its share of the deadline ({@link DeadlineShare}); null when it fits. The prediction:
   * at each stage up to that exit, the time to get through the tokens of the batches the workers
   * hold, of the queued requests at least as urgent and of its own inputs, at the stage's measured
   * throughput. The deadline counts from submission: the time a request already spent being
   * tokenized and waiting for the scheduler (long when the node's cores are short, e.g. shared
   * with another process) is gone from its budget. A deadline too short for even an idle runtime
   * is not refused for it (the same prediction with nothing ahead): only queueing, which a retry
   * can avoid, is. With a reserve exit it may take, the prediction moves towards one to the
   * reserve, as if the requests ahead left there too (that is where they go once they are at risk,
   * see {@link StageDispatch}), as far as admitted requests have lately been on time
   * ({@link DeadlineShare#trust}): a burst's queue is then not refused, while in a lasting overload,
   * where the reserve cannot take everyone and requests come out late, it is as without one.
   */
  private Overloaded pastDeadline(EmbeddingRequest r, long tokens, long submitted, long now) {
    long deadline = deadlineMs(r) * 1_000_000L;
    long waited = now - submitted;
    long urgency = urgencyNanos(r, submitted, now);
    int exit = rules.floorStage(r.minFidelity());
    long idle = 0;
    long predicted = 0;
    boolean reserve = exit < rules.firstServedStage(); // it may leave at the reserve exit: so may those ahead
    long leavingAtReserve = 0;
    for (int s = 0; s <= exit; s++) {
      long own = s == 0 ? tokens : 0;
      idle += batchers[s].idleCompletionNanos(workers.workersAt(s), own);
      predicted += batchers[s].expectedCompletionNanos(workers.workersAt(s), urgency, own);
      if (reserve) { // a second scan of the queue, only where its result is used
        leavingAtReserve += batchers[s].leavingHereCompletionNanos(workers.workersAt(s), urgency, own);
      }
    }
    if (reserve) {
      predicted -= (long) (Math.max(0, predicted - leavingAtReserve) * share.trust());
    }
    long budget = Math.max((long) (deadline * share.value()) - waited, idle);
    if (predicted <= budget) {
      return null;
    }
    Duration retryAfter = Duration.ofNanos(Math.max(predicted - budget, minimumRetryNanos()));
    return Overloaded.pastDeadline(rules.layer(exit), predicted / 1_000_000, waited / 1_000_000, deadline / 1_000_000,
        retryAfter);
  }

  /**
   * Expected time until {@code n} more inputs fit: until the first stage's queue has got through what
   * is over its capacity, at its measured throughput, and the runtime has answered what is over the
   * in-flight limit, at the rate requests have left it lately ({@link Replies#leavingPerSecond}, read
   * only for a refusal) but not before the first of those in flight can leave, nor after all of them
   * are through; at least a few batch delays. (The first stage's drain time alone was blind to inputs
   * in flight at later stages: clients honouring it retried too early.) Both bounds count the
   * stages' batches in series: the node computes only so many at once, whatever their stages.
   */
  Duration retryAfter(int n, int inFlight, long now) {
    long wait = 0;
    int overQueue = batchers[0].depth() + n - settings.firstStageQueueCapacity();
    if (overQueue > 0) {
      wait = batchers[0].drainNanos(overQueue, workers.workersAt(0));
    }
    int overLimit = inFlight + n - settings.maxInFlight();
    if (overLimit > 0) {
      double leavingPerS = replies.leavingPerSecond(now);
      long atRate = leavingPerS > 0 ? (long) (overLimit / leavingPerS * 1e9) : 0;
      long[] work = remainingComputeNanos();
      wait = Math.max(wait, Math.min(Math.max(atRate, untilFirstLeavesNanos(work)), untilAllThroughNanos(now, work)));
    }
    return Duration.ofNanos(Math.max(wait, minimumRetryNanos()));
  }

  /**
   * The compute still to do at each stage for what is in flight now: the batches of the inputs
   * queued or computing at that stage or an earlier one that go that far (those computing count as
   * going on, as may {@code auto} inputs that will leave earlier), at the stage's recent batch size
   * and compute time.
   */
  private long[] remainingComputeNanos() {
    long[] work = new long[batchers.length];
    for (int s = 0; s < batchers.length; s++) {
      int toPass = 0;
      for (int t = 0; t <= s; t++) {
        toPass += batchers[t].stillToPass(s);
      }
      work[s] = batchers[s].computeNanosFor(toPass);
    }
    return work;
  }

  /** The compute of stages {@code from} to {@code to} (exclusive) one after the other, as many batches at once as the node computes. */
  private long inSeries(long[] work, int from, int to) {
    long nanos = 0;
    for (int s = from; s < to; s++) {
      nanos += work[s];
    }
    return nanos / workers.computeCapacity();
  }

  /**
   * Expected time until everything in flight now is through every stage: when all of it has left,
   * at the latest. No sooner than each stage's wait and compute, nor than every stage's remaining
   * batches computed in series under the node's budget of busy workers ({@link
   * WorkerPool#computeCapacity}; the stages share it and the cores): 64 long inputs at the deep exit
   * make 8 batches at each of 3 stages, and with 2 computing at once all are through after 12 batch
   * times, not after the first stage's 4 and one at each later stage.
   */
  private long untilAllThroughNanos(long now, long[] work) {
    long nanos = 0;
    for (int s = 0; s < batchers.length; s++) {
      nanos += batchers[s].expectedWaitNanos(now, workers.workersAt(s)) + batchers[s].expectedComputeNanos();
    }
    return Math.max(nanos, inSeries(work, 0, work.length));
  }

  /**
   * Expected time until the first input in flight leaves: those furthest along have their stage's
   * batch and each later stage's to compute. Not when none of what is in flight has left yet (a
   * burst, such as the inputs of one large request): they share one urgency, so the scheduler
   * cannot tell which should go first, and a stage's queue keeps its workers (their second slots)
   * until it is empty. The first of them then leaves once every batch of the stages before the
   * deepest they go to is computed, in series, and one batch there (with the furthest stages'
   * compute alone, a client honouring Retry-After retried many times, more often with one busy
   * worker per node).
   */
  private long untilFirstLeavesNanos(long[] work) {
    int furthest = batchers.length - 1;
    if (replies.noneLeftOfWhatIsInFlight()) {
      while (furthest > 0 && work[furthest] == 0) {
        furthest--;
      }
      return inSeries(work, 0, furthest) + batchers[furthest].expectedComputeNanos();
    }
    while (furthest > 0 && batchers[furthest].isIdle()) {
      furthest--;
    }
    long nanos = 0;
    for (int s = furthest; s < batchers.length; s++) {
      nanos += batchers[s].expectedComputeNanos();
    }
    return nanos;
  }

  private long minimumRetryNanos() {
    return settings.batching().maxQueueDelay().toNanos() * 10;
  }
}
