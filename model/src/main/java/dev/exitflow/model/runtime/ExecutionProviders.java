package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import dev.exitflow.model.ModelSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a session on the first configured execution provider that works: offered by this ONNX
 * Runtime build and able to open the model. Each refusal is logged with its reason; in strict mode
 * the first refusal is an error instead.
 */
public final class ExecutionProviders {
  private static final Logger log = LoggerFactory.getLogger(ExecutionProviders.class);

  private ExecutionProviders() {}

  /** {@code baseOptions} makes fresh options for each attempt; the provider is added to them here. */
  public static OrtSession open(OrtEnvironment env, Path model, ModelSettings.ExecutionProviders config,
      Callable<OrtSession.SessionOptions> baseOptions) {
    EnumSet<OrtProvider> offered = OrtEnvironment.getAvailableProviders();
    List<String> refusals = new ArrayList<>();
    for (String name : config.order()) {
      String provider = name.trim().toLowerCase(Locale.ROOT);
      String why;
      try (OrtSession.SessionOptions options = baseOptions.call()) {
        why = add(provider, options, config, offered);
        if (why == null) {
          OrtSession session = NativeCalls.run(() -> env.createSession(model.toString(), options));
          log.info("{}: running on the {} execution provider", model.getFileName(), provider);
          return session;
        }
      } catch (Exception e) {
        why = e.getMessage();
      }
      String refusal = provider + ": " + why;
      if (config.strict()) {
        throw new ProviderUnavailableException("execution provider " + refusal + " (strict-providers is on)", null);
      }
      log.warn("{}: execution provider {}; trying the next", model.getFileName(), refusal);
      refusals.add(refusal);
    }
    throw new ProviderUnavailableException("no configured execution provider can run " + model.getFileName()
        + ": " + refusals, null);
  }

  /** Adds the provider to the options; returns why it cannot be used, or null. */
  private static String add(String provider, OrtSession.SessionOptions options, ModelSettings.ExecutionProviders c,
      EnumSet<OrtProvider> offered) throws OrtException {
    switch (provider) {
      case "cpu":
        return null; // always there: it is ONNX Runtime's default
      case "cuda":
        if (!offered.contains(OrtProvider.CUDA)) {
          return "not in this ONNX Runtime build (it offers " + offered + "); build with -Pgpu";
        }
        options.addCUDA(c.cudaDevice());
        return null;
      case "tensorrt":
        if (!offered.contains(OrtProvider.TENSOR_RT)) {
          return "not in this ONNX Runtime build (it offers " + offered + "); build with -Pgpu";
        }
        OrtTensorRTProviderOptions trt = new OrtTensorRTProviderOptions(c.tensorrtDevice());
        trt.add("trt_fp16_enable", c.tensorrtFp16() ? "1" : "0");
        trt.add("trt_engine_cache_enable", "1");
        trt.add("trt_engine_cache_path", c.tensorrtCacheDir());
        trt.add("trt_max_workspace_size", String.valueOf(c.tensorrtWorkspaceBytes()));
        options.addTensorrt(trt);
        return null;
      default:
        return "unknown provider name (use cpu, cuda or tensorrt)";
    }
  }
}
