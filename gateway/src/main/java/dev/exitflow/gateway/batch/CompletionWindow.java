package dev.exitflow.gateway.batch;

import dev.exitflow.streams.request.ErrorCode;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A batch's {@code completion_window}: OpenAI's {@code "24h"}, or (Exitflow's extension) any
 * shorter window in whole seconds, minutes or hours, such as {@code "90m"}, for jobs whose results
 * are worthless after a while. A batch not done by then expires.
 */
final class CompletionWindow {
  static final Duration LONGEST = Duration.ofHours(24);
  private static final Pattern FORM = Pattern.compile("(\\d{1,6})([smh])");

  private CompletionWindow() {}

  static Duration parse(String window) {
    Matcher m = FORM.matcher(String.valueOf(window));
    if (!m.matches()) {
      throw invalid(window);
    }
    long n = Long.parseLong(m.group(1));
    Duration d = switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
    if (d.isZero() || d.compareTo(LONGEST) > 0) {
      throw invalid(window);
    }
    return d;
  }

  private static BatchException invalid(String window) {
    return new BatchException(ErrorCode.INVALID_BATCH,
        "completion_window must be \"24h\" or a shorter window such as \"90m\" or \"30s\", got " + window);
  }
}
