package dev.exitflow.actors;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The batches the scheduler has handed to workers and not heard back from, by id, and how many
 * batches each node has finished (for the statistics of a cluster).
 */
final class RunningBatches {
  /**
   * {@code bulk}: dispatched as bulk work alone (it yields to interactive requests). {@code full}:
   * taken from a queue holding a full batch, so the stage was saturated (its throughput then
   * measures what the stage can do, not how fast requests arrived).
   */
  record Batch(int stage, List<Pending> members, ActorRef<StageWorker.Command> worker, boolean bulk, boolean full) {}

  private final Map<Long, Batch> running = new HashMap<>();
  private final Map<String, Long> doneByNode = new TreeMap<>();
  private long nextId;

  /** Records a batch handed to {@code worker}; returns its id. */
  long start(int stage, List<Pending> members, ActorRef<StageWorker.Command> worker, boolean bulk, boolean full) {
    long id = nextId++;
    running.put(id, new Batch(stage, members, worker, bulk, full));
    return id;
  }

  /** Running batches of bulk work alone. */
  long bulk() {
    return running.values().stream().filter(Batch::bulk).count();
  }

  /**
   * The batch {@code id} came back from its worker: removed and returned, or null when it is no
   * longer known (failed by a drain timeout, or re-queued when its worker was thought lost).
   */
  Batch finish(long id) {
    Batch batch = running.remove(id);
    if (batch != null) {
      doneByNode.merge(batch.worker().path().address().toString(), 1L, Long::sum);
    }
    return batch;
  }

  /** The batch {@code id} failed: removed and returned, or null when no longer known. */
  Batch remove(long id) {
    return running.remove(id);
  }

  /** Removes and returns the batches {@code worker} holds (it is gone). */
  List<Batch> removeHeldBy(ActorRef<StageWorker.Command> worker) {
    List<Batch> held = new ArrayList<>();
    running.values().removeIf(b -> b.worker().equals(worker) && held.add(b));
    return held;
  }

  /** Removes and returns every running batch. */
  List<Batch> removeAll() {
    List<Batch> all = new ArrayList<>(running.values());
    running.clear();
    return all;
  }

  Map<String, Long> doneByNode() {
    return Map.copyOf(doneByNode);
  }
}
