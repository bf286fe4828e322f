package dev.exitflow.distill;

import ai.djl.engine.Engine;

/**
 * DJL's PyTorch engine, offline: libtorch comes from the pytorch-native-cpu jar on the class path
 * (DJL unpacks it once into its cache, ~/.djl.ai unless DJL_CACHE_DIR says otherwise) and nothing
 * is downloaded at run time.
 */
final class Torch {
  private Torch() {}

  static Engine engine(int threads) {
    System.setProperty("ai.djl.offline", "true");
    // The pytorch-native-cpu jar's flavor; DJL would otherwise guess (cpu-precxx11 on some Linux
    // set-ups) and, finding no such jar, try to download one.
    System.setProperty("PYTORCH_FLAVOR", "cpu");
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(threads));
    Engine engine = Engine.getEngine("PyTorch");
    engine.setRandomSeed(42);
    return engine;
  }
}
