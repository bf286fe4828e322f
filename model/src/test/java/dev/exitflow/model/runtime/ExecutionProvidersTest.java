package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtSession;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelSettings;
import dev.exitflow.model.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** There is no GPU here: asking for CUDA or TensorRT must fall back with a reason, or, strict, fail saying why. */
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

  @Test
  void fallsBackToCpuAndLogsWhy() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(ExecutionProviders.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    try (OrtSession session = open(settings("providers = [tensorrt, cuda, cpu]"))) {
      assertTrue(session.getInputNames().contains("input_ids"));
    } finally {
      logger.detachAppender(logs);
    }
    List<String> messages = logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertTrue(messages.stream().anyMatch(m -> m.contains("tensorrt: not in this ONNX Runtime build")), messages.toString());
    assertTrue(messages.stream().anyMatch(m -> m.contains("cuda: not in this ONNX Runtime build")), messages.toString());
    assertTrue(messages.stream().anyMatch(m -> m.contains("running on the cpu execution provider")), messages.toString());
  }

  @Test
  void strictModeFailsSayingWhy() {
    ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class,
        () -> open(settings("providers = [cuda, cpu], strict-providers = true")));
    assertEquals("provider_unavailable", e.code());
    assertTrue(e.getMessage().contains("cuda: not in this ONNX Runtime build"), e.getMessage());
    assertTrue(e.getMessage().contains("strict"), e.getMessage());
  }

  @Test
  void noUsableProviderIsAClearError() {
    ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class,
        () -> open(settings("providers = [tpu, cuda]")));
    assertTrue(e.getMessage().contains("tpu: unknown provider name"), e.getMessage());
    assertTrue(e.getMessage().contains("cuda: not in this ONNX Runtime build"), e.getMessage());
  }
}
