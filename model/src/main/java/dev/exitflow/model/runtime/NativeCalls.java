package dev.exitflow.model.runtime;

import ai.onnxruntime.OrtException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The gate every ONNX Runtime call (session creation and run) passes, so that a process can exit
 * without a native crash. ONNX Runtime's Java binding releases its environment in a JVM shutdown
 * hook; a session still running on another thread then dies in native code (SIGSEGV, exit 134).
 * Before a command calls {@code System.exit}, it calls {@link #close}: that waits for the calls
 * running now and lets no new one start (they block until the process is gone).
 */
public final class NativeCalls {
  private static final ReentrantReadWriteLock GATE = new ReentrantReadWriteLock();

  private NativeCalls() {}

  /** An ONNX Runtime call. */
  @FunctionalInterface
  public interface Call<T> {
    T call() throws OrtException;
  }

  /** Runs {@code c} unless the gate is closed, in which case the calling thread waits for the exit. */
  public static <T> T run(Call<T> c) throws OrtException {
    GATE.readLock().lock();
    try {
      return c.call();
    } finally {
      GATE.readLock().unlock();
    }
  }

  /**
   * Closes the gate for good: waits up to {@code timeout} for running calls to finish. Returns
   * false if some did not (the caller then exits anyway, or halts).
   */
  public static boolean close(Duration timeout) {
    try {
      return GATE.writeLock().tryLock(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
