package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Asking for CUDA or TensorRT runs on them when this ONNX Runtime build offers them and they work;
 * otherwise it falls back with a reason, or, strict, fails saying why. The assertions follow what
 * the build offers, so the tests pass on the CPU build and on a -Pgpu one, with a GPU or without.
 */
class ExecutionProvidersTest {
  private final Path model = TestModels.builtin("all-minilm-l6-v2-q").onnxFile();

  private static ModelSettings settings(String onnx) {
    return ModelSettings.create(ConfigFactory.parseString("exitflow.model.onnx { " + onnx + " }")
        .withFallback(ConfigFactory.load()));
  }

  private OrtSession open(ModelSettings s) throws Exception {
    return ExecutionProviders.open(OrtSessions.environment(s), model, s.providers(), () -> OrtSessions.standaloneOptions(s));
  }

  @Test
  void parsesEveryProviderSetting() {
    ModelSettings s = settings("providers = [tensorrt, cuda, cpu], strict-providers = true, "
        + "cuda.device-id = 1, tensorrt { device-id = 2, fp16 = false, engine-cache-dir = \"/tmp/trt\", max-workspace-size = 1g }");
    ModelSettings.ExecutionProviders p = s.providers();
    assertEquals(List.of("tensorrt", "cuda", "cpu"), p.order());
    assertTrue(p.strict());
    assertEquals(1, p.cudaDevice());
    assertEquals(2, p.tensorrtDevice());
    assertFalse(p.tensorrtFp16());
    assertEquals("/tmp/trt", p.tensorrtCacheDir());
    assertEquals(1L << 30, p.tensorrtWorkspaceBytes());
  }

  @Test
  void providersMayComeAsACommaSeparatedString() {
    // what EXITFLOW_PROVIDERS=cuda,cpu sets
    assertEquals(List.of("cuda", "cpu"), settings("providers = \"cuda, cpu\"").providers().order());
  }

  /** The GPU providers this ONNX Runtime build offers (none on the CPU build; CUDA and TensorRT with -Pgpu). */
  private static final EnumSet<OrtProvider> OFFERED = OrtEnvironment.getAvailableProviders();

  /**
   * Falls back along the list, logging why each provider before the one it runs on was refused. On
   * the CPU build CUDA and TensorRT are refused as not in the build and it runs on the CPU; on a
   * -Pgpu build it runs on the first GPU provider that works here, or on the CPU with a reason for each.
   */
  @Test
  void fallsBackInOrderAndLogsWhy() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(ExecutionProviders.class);
    Level level = logger.getLevel();
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.setLevel(Level.INFO); // the choice is logged at INFO; tests log at WARN
    logger.addAppender(logs);
    List<String> order = List.of("tensorrt", "cuda", "cpu");
    try (OrtSession session = open(settings("providers = [tensorrt, cuda, cpu]"))) {
      assertTrue(session.getInputNames().contains("input_ids"));
    } finally {
      logger.detachAppender(logs);
      logger.setLevel(level);
    }
    List<String> messages = logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    String chosen = order.stream().filter(p -> messages.stream().anyMatch(
        m -> m.contains("running on the " + p + " execution provider"))).findFirst().orElseThrow(
            () -> new AssertionError("no provider chosen: " + messages));
    for (String refused : order.subList(0, order.indexOf(chosen))) {
      assertTrue(messages.stream().anyMatch(m -> m.contains("execution provider " + refused + ": ")), messages.toString());
    }
    for (String gpu : List.of("tensorrt", "cuda")) {
      if (!offered(gpu)) {
        assertTrue(messages.stream().anyMatch(m -> m.contains(gpu + ": not in this ONNX Runtime build")), messages.toString());
      }
    }
    if (!offered("tensorrt") && !offered("cuda")) {
      assertEquals("cpu", chosen, messages.toString());
    }
  }

  @Test
  void strictModeFailsSayingWhy() {
    ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class,
        () -> open(settings("providers = [tpu, cpu], strict-providers = true")));
    assertEquals("provider_unavailable", e.code());
    assertTrue(e.getMessage().contains("tpu: unknown provider name"), e.getMessage());
    assertTrue(e.getMessage().contains("strict"), e.getMessage());
  }

  /** Strict CUDA: on the CPU build it fails saying CUDA is not in the build; with -Pgpu it runs, or fails saying why. */
  @Test
  void strictCudaFollowsWhatTheBuildOffers() throws Exception {
    ModelSettings strict = settings("providers = [cuda, cpu], strict-providers = true");
    if (!offered("cuda")) {
      ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class, () -> open(strict));
      assertTrue(e.getMessage().contains("cuda: not in this ONNX Runtime build"), e.getMessage());
      assertTrue(e.getMessage().contains("strict"), e.getMessage());
      return;
    }
    try (OrtSession session = open(strict)) {
      assertTrue(session.getInputNames().contains("input_ids"));
    } catch (ProviderUnavailableException e) {
      assertEquals("provider_unavailable", e.code());
      assertTrue(e.getMessage().contains("cuda: ") && e.getMessage().contains("strict"), e.getMessage());
    }
  }

  @Test
  void noUsableProviderIsAClearError() {
    ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class,
        () -> open(settings("providers = [tpu, npu]")));
    assertTrue(e.getMessage().contains("tpu: unknown provider name"), e.getMessage());
    assertTrue(e.getMessage().contains("npu: unknown provider name"), e.getMessage());
  }

  @Test
  void aGpuProviderTheBuildLacksIsNamedAsSuch() {
    for (String gpu : List.of("cuda", "tensorrt")) {
      if (!offered(gpu)) {
        ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class,
            () -> open(settings("providers = [tpu, " + gpu + "]")));
        assertTrue(e.getMessage().contains(gpu + ": not in this ONNX Runtime build"), e.getMessage());
        assertTrue(e.getMessage().contains("-Pgpu"), e.getMessage());
      }
    }
  }

  private static boolean offered(String provider) {
    return OFFERED.contains(provider.equals("cuda") ? OrtProvider.CUDA : OrtProvider.TENSOR_RT);
  }
}
