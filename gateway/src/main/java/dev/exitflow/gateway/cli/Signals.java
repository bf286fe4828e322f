package dev.exitflow.gateway.cli;

import dev.exitflow.model.runtime.NativeCalls;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT for every command, taken over as the very first thing {@code main} does, so
 * that no signal ever reaches the JVM's default handling (which starts the shutdown hooks, among
 * them ONNX Runtime's, which releases its environment under sessions still running: a native
 * crash). A signal is recorded and handed to the action the running command set; a command that
 * sets none is interrupted: it waits for ONNX Runtime calls in progress, then exits 130 (SIGINT)
 * or 143 (SIGTERM), as a shell expects. {@code serve} sets its own action: drain, then exit 0.
 */
final class Signals {
  private static final CompletableFuture<String> RECEIVED = new CompletableFuture<>();
  private static volatile Consumer<String> action;

  private Signals() {}

  /** Takes over TERM and INT. */
  static void install() {
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), s -> {
        if (RECEIVED.complete(name)) {
          Consumer<String> a = action;
          if (a != null) {
            a.accept(name);
          }
        }
      });
    }
  }

  /** The first signal's name, once one came. */
  static CompletableFuture<String> received() {
    return RECEIVED;
  }

  /** What to do on the first signal; runs at once if it came already. Later signals are ignored. */
  static void onSignal(Consumer<String> a) {
    action = a;
    if (RECEIVED.isDone()) {
      a.accept(RECEIVED.join());
    }
  }

  /** The default action: let running ONNX Runtime calls end, start no new ones, exit 128 + signal. */
  static void interrupt(String name) {
    System.err.printf("%nexitflow: SIG%s: stopping%n", name);
    exit(name.equals("INT") ? 130 : 143);
  }

  /** Exits once no ONNX Runtime call is running (waiting at most 30 s), so the exit never crashes natively. */
  static void exit(int status) {
    NativeCalls.close(Duration.ofSeconds(30));
    System.exit(status);
  }
}
