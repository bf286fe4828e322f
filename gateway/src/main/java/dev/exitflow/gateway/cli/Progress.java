package dev.exitflow.gateway.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/** A progress bar on stderr, so stdout stays clean for tables and JSON. */
public final class Progress {
  private Progress() {}

  public static ProgressBar bar(String task, long total, String unit) {
    return new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(total)
        .setUnit(" " + unit, 1)
        .showSpeed()
        .setConsumer(new ConsoleProgressBarConsumer(System.err))
        .build();
  }
}
