package dev.exitflow.actors;

import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.StageSession;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Where a scheduler's stage workers come from: spawned by the scheduler itself in one process, or
 * found through the Receptionist in a cluster, on any node, coming and going.
 */
public sealed interface WorkerSource {
  /**
   * Starts the workers from the scheduler's context {@code ctx}: local ones tell {@code outcomes}
   * when ready; the cluster's are listed to {@code listings} as they come and go.
   */
  void start(ActorContext<?> ctx, List<ExitHead> heads, String dispatcher, ActorRef<StageWorker.Outcome> outcomes,
      ActorRef<Receptionist.Listing> listings);

  /**
   * Workers spawned here, {@code perStage} per stage, each opening its session with {@code sessions}
   * and running its batches in the process's compute {@code slots}. The workers of the
   * {@code throughStages} first stages (a reserve exit's) open the next stage's session too.
   */
  record Local(SessionOpener sessions, int perStage, int throughStages, ComputeSlots slots) implements WorkerSource {
    @Override
    public void start(ActorContext<?> ctx, List<ExitHead> heads, String dispatcher,
        ActorRef<StageWorker.Outcome> outcomes, ActorRef<Receptionist.Listing> listings) {
      for (int s = 0; s < heads.size(); s++) {
        for (int w = 0; w < perStage; w++) {
          int stage = s;
          int worker = w;
          Callable<StageSession> open = () -> sessions.open(stage, worker);
          StageWorker.Sessions opens = s < throughStages
              ? new StageWorker.Sessions(open, heads.get(s), () -> sessions.open(stage + 1, worker), heads.get(s + 1))
              : StageWorker.Sessions.own(open, heads.get(s));
          ctx.spawn(StageWorker.create(s, opens, dispatcher, slots, outcomes), "stage-" + (s + 1) + "-worker-" + (w + 1));
        }
      }
    }
  }

  /** Workers registered anywhere in the cluster under these keys, one key per stage. */
  record Discovered(List<ServiceKey<StageWorker.Command>> keys) implements WorkerSource {
    @Override
    public void start(ActorContext<?> ctx, List<ExitHead> heads, String dispatcher,
        ActorRef<StageWorker.Outcome> outcomes, ActorRef<Receptionist.Listing> listings) {
      keys.forEach(key -> ctx.getSystem().receptionist().tell(Receptionist.subscribe(key, listings)));
    }

    /** The stage (from 0) whose workers {@code key} lists. */
    int stageOf(ServiceKey<?> key) {
      return keys.indexOf(key);
    }
  }

  /** Opens the session of one worker ({@code worker}, counted from 0) of {@code stage} (from 0). */
  interface SessionOpener {
    StageSession open(int stage, int worker) throws Exception;
  }
}
