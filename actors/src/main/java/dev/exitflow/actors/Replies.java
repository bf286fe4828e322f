package dev.exitflow.actors;

import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Answers admitted requests, and counts what became of them: how many are in flight, failed, and
 * left at which exit and why. Every answer also goes to the runtime's listener (the metrics).
 */
final class Replies {
  private final ExitRules rules;
  private final RuntimeListener listener;
  int inFlight;
  /** Of those, interactive ones (bulk work yields to them). */
  int interactiveInFlight;
  /** Inputs admitted since an input last left: when they are all that is in flight, none of it has left yet. */
  private int admittedSinceLeft;
  long failed;
  private final Map<Integer, Long> byExit = new TreeMap<>();
  private final Map<ExitReason, Long> byReason = new EnumMap<>(ExitReason.class);
  /**
   * Requests leaving the runtime (answered or failed) over about the last second of busy time (a
   * clock that stops while nothing is in flight, so an idle spell does not read as a slow runtime):
   * how fast room frees up.
   */
  private final DecayingRate leaving = new DecayingRate(Duration.ofSeconds(1));
  private long busyNanos;
  private long lastChangeNanos;
  private final long createdNanos = System.nanoTime();

  Replies(ExitRules rules, RuntimeListener listener) {
    this.rules = rules;
    this.listener = listener;
  }

  void admitted(List<Pending> requests) {
    tick(System.nanoTime());
    inFlight += requests.size();
    admittedSinceLeft += requests.size();
    interactiveInFlight += (int) requests.stream().filter(Replies::interactive).count();
  }

  private static boolean interactive(Pending p) {
    return p.request.priority() == Priority.INTERACTIVE;
  }

  private void left(Pending p) {
    tick(System.nanoTime());
    leaving.record(1, busyNanos);
    inFlight--;
    admittedSinceLeft = 0;
    if (interactive(p)) {
      interactiveInFlight--;
    }
  }

  /** The request leaves after {@code stage} with its result (or fails, if that stage computed none). */
  void complete(Pending p, int stage, ExitReason reason) {
    EmbeddingResult result;
    try {
      result = rules.result(p, stage, reason);
    } catch (RuntimeException e) {
      fail(p, e);
      return;
    }
    p.succeed(result);
    byExit.merge(result.exitLayer(), 1L, Long::sum);
    byReason.merge(reason, 1L, Long::sum);
    left(p);
    listener.onExit(result.exitLayer(), reason, p.request.priority());
  }

  /** The request goes on past the first exit: whoever asked for its result there hears it now. */
  void preview(Pending p, int stage) {
    if (p.early != null && stage == rules.firstServedStage() && p.embedding != null) {
      p.early.accept(rules.result(p, stage, ExitReason.POLICY));
    }
  }

  void fail(Pending p, Throwable error) {
    p.fail(error);
    failed++;
    left(p);
    listener.onFailed();
  }

  /**
   * Whether everything in flight arrived since an input last left: a burst none of which has left
   * yet, so the rate requests left at before it says nothing about when it will.
   */
  boolean noneLeftOfWhatIsInFlight() {
    return inFlight > 0 && admittedSinceLeft >= inFlight;
  }

  /** Requests per second leaving the runtime over its last second or so of busy time; 0 before any has. */
  double leavingPerSecond(long now) {
    return leaving.perSecond(busyAt(now));
  }

  /** Time with nothing in flight since the runtime started: a clock that runs only while it is idle. */
  long idleNanos(long now) {
    return now - createdNanos - busyAt(now);
  }

  private long busyAt(long now) {
    return busyNanos + (inFlight > 0 ? Math.max(0, now - lastChangeNanos) : 0);
  }

  /** Brings the busy clock to {@code now}, before the number in flight changes. */
  private void tick(long now) {
    busyNanos = busyAt(now);
    lastChangeNanos = now;
  }

  Map<Integer, Long> byExit() {
    return Map.copyOf(byExit);
  }

  Map<ExitReason, Long> byReason() {
    return Map.copyOf(byReason);
  }
}
