package dev.exitflow.actors;

import ai.onnxruntime.OrtException;
import com.typesafe.config.Config;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.compile.CompiledModel;
import dev.exitflow.model.compile.StageCache;
import dev.exitflow.model.compile.StageSpec;
import dev.exitflow.model.runtime.ExitHead;
import dev.exitflow.model.runtime.StagedEncoder;
import java.util.ArrayList;
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
   * The Receptionist keys of a compiled model's stages. They name the model and its compiled
   * form, so a gateway never batches onto workers of another model, version or plan.
   */
  public static List<ServiceKey<StageWorker.Command>> keys(CompiledModel compiled) {
    List<ServiceKey<StageWorker.Command>> keys = new ArrayList<>();
    for (StageSpec spec : compiled.stages()) {
      keys.add(ServiceKey.create(StageWorker.Command.class, "exitflow-" + compiled.model() + "-"
          + compiled.directory().getFileName() + "-stage-" + spec.index()));
    }
    return keys;
  }

  /** Compiles the model (or finds it in the cache) and spawns this node's workers in {@code system}. */
  public static void start(ActorSystem<?> system, ModelDescriptor model, Config config) {
    ModelSettings modelSettings = ModelSettings.create(config);
    RuntimeSettings settings = RuntimeSettings.create(config);
    ClusterSettings cluster = ClusterSettings.create(config);
    CompiledModel compiled = new StageCache(modelSettings.cacheDir()).load(model);
    List<ExitHead> heads;
    try {
      heads = StagedEncoder.openHeads(model, compiled, modelSettings);
    } catch (OrtException e) {
      throw new IllegalStateException("cannot open the exit heads of " + model.name(), e);
    }
    List<ServiceKey<StageWorker.Command>> keys = keys(compiled);
    Behavior<Void> workers = Behaviors.setup(ctx -> {
      for (int s = 0; s < compiled.stages().size(); s++) {
        StageSpec spec = compiled.stages().get(s);
        for (int w = 0; w < settings.workersPerStage() && cluster.serves(s); w++) {
          int stage = s;
          ModelSettings own = settings.forWorker(modelSettings, stage, w);
          ctx.spawn(StageWorker.registered(stage, () -> StagedEncoder.openStage(compiled, spec, own), heads.get(stage),
              settings.inferenceDispatcher(), keys.get(stage)), "stage-" + (stage + 1) + "-worker-" + (w + 1));
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
