package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.exitflow.model.ModelSettings;
import java.util.Locale;

/**
 * The process's one ONNX Runtime environment and the session options built from the
 * {@code exitflow.model.onnx} settings.
 *
 * <p>Stage sessions share the environment's global thread pool instead of owning one each: a
 * request runs its stages one after another, and with a pool per session the threads of the stage
 * that just finished keep spinning while the next stage's threads want the same cores.
 */
public final class OrtSessions {
  private static OrtEnvironment environment;

  private OrtSessions() {}

  /** Creates the environment (with its global thread pool) on first use; later calls return it. */
  public static synchronized OrtEnvironment environment(ModelSettings settings) throws OrtException {
    if (environment == null) {
      try (OrtEnvironment.ThreadingOptions threads = new OrtEnvironment.ThreadingOptions()) {
        if (settings.intraOpThreads() > 0) {
          threads.setGlobalIntraOpNumThreads(settings.intraOpThreads());
        }
        threads.setGlobalInterOpNumThreads(settings.interOpThreads());
        threads.setGlobalSpinControl(settings.allowSpinning());
        environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "exitflow", threads);
      }
    }
    return environment;
  }

  /** Options for stage sessions: they run on the environment's global thread pool. */
  public static OrtSession.SessionOptions stageOptions(ModelSettings settings) throws OrtException {
    OrtSession.SessionOptions o = common(settings);
    o.setOptimizationLevel(optLevel(settings.stageOptimizationLevel()));
    o.disablePerSessionThreads();
    return o;
  }

  /**
   * Options for a standalone session with its own pool of the same size, as a user of plain ONNX
   * Runtime would run it (the benchmark's reference).
   */
  public static OrtSession.SessionOptions standaloneOptions(ModelSettings settings) throws OrtException {
    OrtSession.SessionOptions o = common(settings);
    if (settings.intraOpThreads() > 0) {
      o.setIntraOpNumThreads(settings.intraOpThreads());
    }
    o.setInterOpNumThreads(settings.interOpThreads());
    return o;
  }

  private static OrtSession.SessionOptions common(ModelSettings settings) throws OrtException {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
    o.setOptimizationLevel(optLevel(settings.optimizationLevel()));
    return o;
  }

  private static OptLevel optLevel(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "none" -> OptLevel.NO_OPT;
      case "basic" -> OptLevel.BASIC_OPT;
      case "extended" -> OptLevel.EXTENDED_OPT;
      case "all" -> OptLevel.ALL_OPT;
      default -> throw new IllegalArgumentException(
          "exitflow.model.onnx optimisation level '" + name + "' is not none, basic, extended or all");
    };
  }
}
