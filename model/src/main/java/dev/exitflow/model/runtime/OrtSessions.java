package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.exitflow.model.ModelSettings;
import java.util.Locale;

/** ONNX Runtime session options from the {@code exitflow.model.onnx} settings, the same for every session. */
public final class OrtSessions {
  private OrtSessions() {}

  public static OrtSession.SessionOptions options(ModelSettings settings) throws OrtException {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    if (settings.intraOpThreads() > 0) {
      o.setIntraOpNumThreads(settings.intraOpThreads());
    }
    o.setInterOpNumThreads(settings.interOpThreads());
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
          "exitflow.model.onnx.optimization-level '" + name + "' is not none, basic, extended or all");
    };
  }
}
