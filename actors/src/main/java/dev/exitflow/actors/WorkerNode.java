package dev.exitflow.actors;

import ai.onnxruntime.OrtException;
import com.typesafe.config.Config;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.runtime.ExitHead;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The stage workers of a cluster node with the {@code worker} role. Each registers with the
 * Receptionist under its stage's key once its session is open; schedulers on gateway nodes find
 * it there. Which stages a node serves is configurable, so a model's stages may run on different
 * machines. A node runs the workers of one model.
 */
public final class WorkerNode {
  private WorkerNode() {}

  /**
   * Compiles the model (or finds it in the cache), run as the configured plan if any, and spawns
   * this node's workers in {@code system}.
   */
  public static void start(ActorSystem<?> system, ModelDescriptor model, Config config) {
    ServedModel served = ServedModel.load(model, config);
    RuntimeSettings settings = RuntimeSettings.create(config);
    ClusterSettings cluster = ClusterSettings.create(config);
    List<ExitHead> heads = served.heads();
    List<ServiceKey<StageWorker.Command>> keys = served.workerKeys();
    // One node's workers share its cores, whichever gateways send them batches.
    ComputeSlots slots = ComputeSlots.of(settings.busyWorkersPerNode());
    Behavior<Void> workers = Behaviors.setup(ctx -> {
      for (int s = 0; s < keys.size(); s++) {
        for (int w = 0; w < settings.workersPerStage() && cluster.serves(served.configuredStage(s)); w++) {
          int stage = s;
          ModelSettings own = settings.forWorker(served.settings(), served.configuredStage(stage), w);
          StageWorker.Sessions sessions = StageWorker.Sessions.own(() -> served.openStage(stage, own), heads.get(stage));
          if (stage < served.reserveStages()) { // a reserve exit's stage runs through to the next when it may
            ModelSettings next = settings.forWorker(served.settings(), served.configuredStage(stage + 1), w);
            sessions = new StageWorker.Sessions(sessions.own(), sessions.head(), () -> served.openStage(stage + 1, next),
                heads.get(stage + 1));
          }
          ctx.spawn(StageWorker.registered(stage, sessions, settings.inferenceDispatcher(), slots, keys.get(stage)),
              "stage-" + (stage + 1) + "-worker-" + (w + 1));
        }
      }
      return Behaviors.empty();
    });
    system.systemActorOf(workers, "exitflow-workers", Props.empty());
    // Adapter sessions are closed with the system, when no worker can be using them any more.
    system.getWhenTerminated().thenRun(() -> heads.forEach(WorkerNode::closeQuietly));
  }

  private static void closeQuietly(ExitHead head) {
    try {
      head.close();
    } catch (OrtException ignored) {
      // the process is shutting down this node: nothing left to do
    }
  }
}
