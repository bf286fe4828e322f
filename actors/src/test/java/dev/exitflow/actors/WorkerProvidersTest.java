package dev.exitflow.actors;

import static dev.exitflow.actors.EncoderRuntimeTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelRepository;
import dev.exitflow.model.ModelSettings;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/** Execution providers chosen per stage and per worker (there is no GPU here: CUDA falls back to the CPU). */
class WorkerProvidersTest {
  private static Config config(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.load());
  }

  @Test
  void eachWorkerGetsItsStagesProvidersOnItsOwnDevice() {
    Config c = config("exitflow.actors { stage-providers { \"3\" = [tensorrt, cuda, cpu] }, worker-devices = [0, 1] }");
    RuntimeSettings settings = RuntimeSettings.create(c);
    ModelSettings model = ModelSettings.create(c);

    ModelSettings.ExecutionProviders deepSecond = settings.forWorker(model, 2, 1).providers();
    assertEquals(List.of("tensorrt", "cuda", "cpu"), deepSecond.order());
    assertEquals(1, deepSecond.cudaDevice());
    assertEquals(1, deepSecond.tensorrtDevice());
    ModelSettings.ExecutionProviders shallowFirst = settings.forWorker(model, 0, 2).providers();
    assertEquals(model.providers().order(), shallowFirst.order(), "stages without an entry keep the model's list");
    assertEquals(0, shallowFirst.cudaDevice(), "worker 3 of 2 devices wraps around to device 0");
    assertEquals(model.providers(), RuntimeSettings.create(config("")).forWorker(model, 1, 0).providers(),
        "nothing configured: nothing changes");
  }

  @Test
  void theDefaultBusyBudgetFitsTheRunsThreadsToTheCores() {
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(cores, RuntimeSettings.create(config("")).busyWorkersPerNode(), "one thread per run: one run per core");
    assertEquals(1, RuntimeSettings.create(config("exitflow.actors.threads-per-run = 0")).busyWorkersPerNode(),
        "the shared pool of ONNX Runtime's one thread per core: one run at a time has them all");
    assertEquals(Math.max(1, cores / 2), RuntimeSettings.create(config("exitflow.actors.threads-per-run = 2"))
        .busyWorkersPerNode());
    assertEquals(cores, RuntimeSettings.create(
        config("exitflow.actors.threads-per-run = 0\nexitflow.model.onnx.intra-op-threads = 1")).busyWorkersPerNode());
    assertEquals(cores, RuntimeSettings.create(config("exitflow.actors.stage-providers { \"3\" = [cuda, cpu] }"))
        .busyWorkersPerNode(), "a GPU stage: one per core");
    assertEquals(cores, RuntimeSettings.create(config("exitflow.model.onnx.providers = \"cuda,cpu\""))
        .busyWorkersPerNode(), "a GPU for the model, as EXITFLOW_PROVIDERS gives it: one per core");
    assertEquals(3, RuntimeSettings.create(config("exitflow.actors.busy-workers-per-node = 3")).busyWorkersPerNode());
  }

  @Test
  void aStageProvidersKeyMustBeAStageNumber() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RuntimeSettings.create(config("exitflow.actors.stage-providers { deep = [cuda] }")));
    assertTrue(e.getMessage().contains("stage-providers") && e.getMessage().contains("deep"), e.getMessage());
  }

  @Test
  void aDeepStageAskingForCudaFallsBackToTheCpuAndServes() {
    Config c = config("exitflow.actors.stage-providers { \"3\" = [cuda, cpu] }");
    ActorTestKit kit = ActorTestKit.create(c);
    try {
      EncoderRuntime runtime = EncoderRuntime.start(kit.system(),
          new ModelRepository(ModelSettings.create(c)).resolve("all-minilm-l6-v2"), c);
      await(runtime.ready());
      assertEquals(6, await(runtime.submit(EmbeddingRequest.of("on the GPU if there were one",
          ExitPolicy.Deep.INSTANCE))).exitLayer());
    } finally {
      kit.shutdownTestKit();
    }
  }
}
