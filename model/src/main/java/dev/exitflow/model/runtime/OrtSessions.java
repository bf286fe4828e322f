package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.ModelSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one ONNX Runtime environment and the session options built from the
 * {@code exitflow.model.onnx} settings.
 *
 * <p>Stage sessions share the environment's global thread pool instead of owning one each: a
 * request runs its stages one after another, and with a pool per session the threads of the stage
 * that just finished keep spinning while the next stage's threads want the same cores.
 */
public final class OrtSessions {
  private static final Logger log = LoggerFactory.getLogger(OrtSessions.class);

  private static OrtEnvironment environment;
  /** The settings the environment's thread pool was built with. */
  private static ModelSettings created;

  private OrtSessions() {}

  /**
   * Creates the environment (with its global thread pool) on first use; later calls return it. ONNX
   * Runtime builds the pool once per process, so a later call whose thread settings differ from the
   * first one's cannot have them: it logs a warning naming the settings it ignores.
   */
  public static synchronized OrtEnvironment environment(ModelSettings settings) throws OrtException {
    if (environment != null) {
      warnIfIgnored(settings);
    } else {
      try (OrtEnvironment.ThreadingOptions threads = new OrtEnvironment.ThreadingOptions()) {
        if (settings.intraOpThreads() > 0) {
          threads.setGlobalIntraOpNumThreads(settings.intraOpThreads());
        }
        threads.setGlobalInterOpNumThreads(settings.interOpThreads());
        threads.setGlobalSpinControl(settings.allowSpinning());
        environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "exitflow", threads);
        created = settings;
      }
    }
    return environment;
  }

  /**
   * The environment for sessions that need no particular settings (the ridge fit's products, tests):
   * the one already made, or one made with the configured {@code exitflow.model.onnx} settings.
   * Never {@code OrtEnvironment.getEnvironment()} directly: an environment made that way has no
   * global thread pool, and ONNX Runtime then refuses to make the one stage sessions need.
   */
  public static synchronized OrtEnvironment environment() throws OrtException {
    return environment != null ? environment : environment(ModelSettings.create(ConfigFactory.load()));
  }

  private static void warnIfIgnored(ModelSettings settings) {
    List<String> ignored = new ArrayList<>();
    if (settings.intraOpThreads() != created.intraOpThreads()) {
      ignored.add("exitflow.model.onnx.intra-op-threads = " + settings.intraOpThreads() + " (in use: "
          + created.intraOpThreads() + ")");
    }
    if (settings.interOpThreads() != created.interOpThreads()) {
      ignored.add("exitflow.model.onnx.inter-op-threads = " + settings.interOpThreads() + " (in use: "
          + created.interOpThreads() + ")");
    }
    if (settings.allowSpinning() != created.allowSpinning()) {
      ignored.add("exitflow.model.onnx.allow-spinning = " + settings.allowSpinning() + " (in use: "
          + created.allowSpinning() + ")");
    }
    if (!ignored.isEmpty()) {
      log.warn("ONNX Runtime's global thread pool was built by this process's first session; ignoring {}",
          String.join(", ", ignored));
    }
  }

  /**
   * Options for stage sessions: they run on the environment's global thread pool, or with
   * {@link ModelSettings#stageSessionThreads} threads of their own (one: on the calling thread
   * alone, with no pool threads to spin).
   */
  public static OrtSession.SessionOptions stageOptions(ModelSettings settings) throws OrtException {
    OrtSession.SessionOptions o = common(settings);
    o.setOptimizationLevel(optLevel(settings.stageOptimizationLevel()));
    if (settings.stageSessionThreads() > 0) {
      o.setIntraOpNumThreads(settings.stageSessionThreads());
      o.setInterOpNumThreads(1);
      o.addConfigEntry("session.intra_op.allow_spinning", settings.allowSpinning() ? "1" : "0");
    } else {
      o.disablePerSessionThreads();
    }
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
