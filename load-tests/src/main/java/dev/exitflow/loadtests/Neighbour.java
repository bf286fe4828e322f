package dev.exitflow.loadtests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A CPU-bound process on one core (a shell busy loop, pinned with taskset where there is one),
 * started after a delay: capacity that changes while a load test runs. Closing it stops the
 * process; a shutdown hook stops it too if the test dies first.
 */
final class Neighbour implements AutoCloseable {
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private volatile Process process;
  private final Thread hook = new Thread(this::stop);

  private Neighbour() {}

  static Neighbour startAfter(Duration delay) {
    Neighbour n = new Neighbour();
    Runtime.getRuntime().addShutdownHook(n.hook);
    n.timer.schedule(n::start, delay.toMillis(), TimeUnit.MILLISECONDS);
    return n;
  }

  private void start() {
    List<String> command = new ArrayList<>();
    if (Files.isExecutable(Path.of("/usr/bin/taskset"))) {
      int last = Runtime.getRuntime().availableProcessors() - 1;
      command.addAll(List.of("/usr/bin/taskset", "-c", String.valueOf(last)));
    }
    command.addAll(List.of("sh", "-c", "while :; do :; done"));
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      System.err.println("neighbour started: " + String.join(" ", command) + " (pid " + process.pid() + ")");
    } catch (IOException e) {
      System.err.println("neighbour did not start: " + e.getMessage());
    }
  }

  private void stop() {
    Process p = process;
    if (p != null) {
      p.destroyForcibly();
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    stop();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }
}
