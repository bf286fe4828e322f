package dev.exitflow.actors;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The Scheduler's view of its stage workers: which serve which stage, and which are idle (each
 * idle entry is one batch the worker may be given; a worker has {@code slots} of them, so the
 * next batch waits at the worker while one runs and starts without a round trip through the
 * scheduler). At most {@code busyPerNode} workers of one node compute at once, whatever their
 * stages: every stage's workers share the node's cores, and more batches running than cores
 * only stretches each one's compute time. A node's workers may hold {@code aheadPerNode} batches
 * more than that, waiting at the node for its compute slots ({@link ComputeSlots}), so that a slot
 * does not idle while one batch's result comes back and the next goes out. In one process the
 * pool is complete once the configured number of workers per stage has joined; in a cluster
 * workers come and go, and the pool is complete while every stage has at least one. Whoever
 * serves requests hears when that changes ({@code readiness}).
 */
final class WorkerPool {
  private final int stages;
  /** Workers per stage in one process; 0 in a cluster, where the number varies. */
  private final int fixedPerStage;
  /** Batches one worker may hold: the one running and those waiting for it. */
  private final int slots;
  /** Workers of one node that may hold batches at once; 0 or less: no limit. */
  private final int busyPerNode;
  /** Workers of one node that may hold a batch beyond {@code busyPerNode}, waiting there for a slot. */
  private final int aheadPerNode;
  private final Map<ActorRef<StageWorker.Command>, Integer> stageOf = new HashMap<>();
  private final List<ArrayDeque<ActorRef<StageWorker.Command>>> idle = new ArrayList<>();
  /** Batches each worker holds now (running or waiting at it). */
  private final Map<ActorRef<StageWorker.Command>, Integer> held = new HashMap<>();
  private final Consumer<Boolean> readiness;
  private boolean ready;
  /**
   * Workers holding a batch now, and the integral over time of those computing, at most the compute
   * capacity (the depth controller's utilization).
   */
  private int busy;
  private long busyNanos;
  private long busySince = System.nanoTime();
  /** Workers that may compute at once (see {@link #computeCapacity}); read per admission and per controller tick. */
  private int computeCapacity = 1;

  WorkerPool(int stages, int fixedPerStage, int slots, Consumer<Boolean> readiness) {
    this(stages, fixedPerStage, slots, 0, readiness);
  }

  WorkerPool(int stages, int fixedPerStage, int slots, int busyPerNode, Consumer<Boolean> readiness) {
    this(stages, fixedPerStage, slots, busyPerNode, 0, readiness);
  }

  WorkerPool(int stages, int fixedPerStage, int slots, int busyPerNode, int aheadPerNode,
      Consumer<Boolean> readiness) {
    if (slots < 1) {
      throw new IllegalArgumentException("exitflow.actors.batches-per-worker must be at least 1, not " + slots);
    }
    this.stages = stages;
    this.fixedPerStage = fixedPerStage;
    this.slots = slots;
    this.busyPerNode = busyPerNode;
    this.aheadPerNode = Math.max(0, aheadPerNode);
    this.readiness = readiness;
    for (int s = 0; s < stages; s++) {
      idle.add(new ArrayDeque<>());
    }
  }

  /** Adds a worker, idle; false when it is already known (e.g. announcing itself after a restart). */
  boolean join(ActorRef<StageWorker.Command> worker, int stage) {
    if (stageOf.putIfAbsent(worker, stage) != null) {
      return false;
    }
    for (int i = 0; i < slots; i++) {
      idle.get(stage).add(worker);
    }
    held.put(worker, 0);
    countCapacity();
    announce();
    return true;
  }

  /** Removes a worker; returns the stage it served, or null when it was not known. */
  Integer leave(ActorRef<StageWorker.Command> worker) {
    Integer stage = stageOf.remove(worker);
    if (stage != null) {
      idle.get(stage).removeIf(worker::equals);
      changeBusy(held.remove(worker) > 0 ? -1 : 0);
      countCapacity();
      announce();
    }
    return stage;
  }

  /** A worker answered a batch: it may take another, unless it has left meanwhile. */
  void release(ActorRef<StageWorker.Command> worker, int stage) {
    if (stageOf.containsKey(worker)) {
      idle.get(stage).add(worker);
      changeBusy(held.merge(worker, -1, Integer::sum) == 0 ? -1 : 0);
    }
  }

  /** Whether a worker of the stage holds no batch, on a node with room for one more busy worker. */
  boolean hasFree(int stage) {
    return findFree(stage, busyPerNode) != null;
  }

  /** Whether a worker of the stage holds no batch, on a node whose slots are busy but that may hold one more batch. */
  boolean hasSlotAhead(int stage) {
    return aheadPerNode > 0 && findFree(stage, busyPerNode + aheadPerNode) != null;
  }

  /** Whether a worker of the stage that is computing has room for the next batch. */
  boolean hasWaitingSlot(int stage) {
    return idle.get(stage).stream().anyMatch(w -> held.get(w) > 0);
  }

  /** Takes a free worker of the stage (call only when {@link #hasFree} says there is one). */
  ActorRef<StageWorker.Command> takeFree(int stage) {
    return take(stage, findFree(stage, busyPerNode));
  }

  /** Takes a worker to hold a batch ahead of its node's slots (only when {@link #hasSlotAhead} says there is one). */
  ActorRef<StageWorker.Command> takeSlotAhead(int stage) {
    return take(stage, findFree(stage, busyPerNode + aheadPerNode));
  }

  /** Takes a waiting slot at a computing worker (call only when {@link #hasWaitingSlot} says there is one). */
  ActorRef<StageWorker.Command> takeWaitingSlot(int stage) {
    return take(stage, idle.get(stage).stream().filter(w -> held.get(w) > 0).findFirst().orElseThrow());
  }

  private ActorRef<StageWorker.Command> take(int stage, ActorRef<StageWorker.Command> worker) {
    idle.get(stage).removeFirstOccurrence(worker);
    changeBusy(held.merge(worker, 1, Integer::sum) == 1 ? 1 : 0);
    return worker;
  }

  private ActorRef<StageWorker.Command> findFree(int stage, int budget) {
    for (ActorRef<StageWorker.Command> w : idle.get(stage)) {
      if (held.get(w) == 0 && (busyPerNode <= 0 || busyOn(w.path().address()) < budget)) {
        return w;
      }
    }
    return null;
  }

  private void changeBusy(int by) {
    long now = System.nanoTime();
    busyNanos += Math.min(busy, computeCapacity) * (now - busySince); // those waiting at a node's slots do not compute
    busySince = now;
    busy += by;
  }

  /** Worker-nanoseconds spent holding batches since the pool started. */
  long busyNanos() {
    changeBusy(0);
    return busyNanos;
  }

  /**
   * Workers that may compute at once: the budget per node times the nodes with workers, or every
   * worker when there is no budget (at least one, so a utilization stays finite).
   */
  int computeCapacity() {
    return computeCapacity;
  }

  /** Recomputes {@link #computeCapacity} when a worker joins or leaves, not on every estimate that reads it. */
  private void countCapacity() {
    if (busyPerNode <= 0) {
      computeCapacity = Math.max(1, stageOf.size());
      return;
    }
    long nodes = stageOf.keySet().stream().map(w -> w.path().address()).distinct().count();
    computeCapacity = (int) Math.max(1, Math.min(stageOf.size(), busyPerNode * nodes));
  }

  private long busyOn(Address node) {
    return held.entrySet().stream().filter(e -> e.getValue() > 0 && e.getKey().path().address().equals(node)).count();
  }

  /** The known workers of a stage not in {@code listed}: those the Receptionist no longer lists. */
  List<ActorRef<StageWorker.Command>> unlisted(int stage, Set<ActorRef<StageWorker.Command>> listed) {
    return stageOf.entrySet().stream()
        .filter(e -> e.getValue() == stage && !listed.contains(e.getKey()))
        .map(Map.Entry::getKey)
        .toList();
  }

  /**
   * Workers of a stage that may compute at once, for wait estimates: the configured number in one
   * process, those known now in a cluster (at least one, so an estimate stays finite while a stage
   * has none), but no more than the nodes' budget of busy workers lets compute together.
   */
  int workersAt(int stage) {
    int serving = fixedPerStage > 0 ? fixedPerStage
        : (int) Math.max(1, stageOf.values().stream().filter(s -> s == stage).count());
    return Math.min(serving, computeCapacity());
  }

  /** Stages (counted from 1) no known worker serves. */
  List<Integer> stagesWithoutWorkers() {
    List<Integer> missing = new ArrayList<>();
    for (int s = 0; s < stages; s++) {
      if (!stageOf.containsValue(s)) {
        missing.add(s + 1);
      }
    }
    return missing;
  }

  /** Every local worker has joined, or (in a cluster) every stage has a worker. */
  boolean complete() {
    if (fixedPerStage > 0) {
      return stageOf.size() == stages * fixedPerStage;
    }
    return stageOf.values().stream().distinct().count() == stages;
  }

  /** Tells {@code readiness} when {@link #complete} changed. */
  private void announce() {
    if (complete() != ready) {
      ready = !ready;
      readiness.accept(ready);
    }
  }

  int size() {
    return stageOf.size();
  }
}
