package dev.exitflow.streams.request;

import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;

/**
 * What a transport assumes for the options a request leaves out: HTTP and WebSocket requests are
 * deep and interactive, bulk lines take their upload's query parameters, Kafka records its
 * configured exit and priority. {@code dimensions}, {@code deadlineMs} and {@code minFidelity} may be
 * null (none); {@code longText} is truncate unless a bulk query says chunk.
 */
public record RequestDefaults(ExitPolicy exit, Priority priority, Integer dimensions, Long deadlineMs,
    Double minFidelity, LongText longText) {
  public RequestDefaults(ExitPolicy exit, Priority priority, Integer dimensions, Long deadlineMs) {
    this(exit, priority, dimensions, deadlineMs, null, LongText.TRUNCATE);
  }

  public static final RequestDefaults INTERACTIVE =
      new RequestDefaults(ExitPolicy.Deep.INSTANCE, Priority.INTERACTIVE, null, null);

  public static final RequestDefaults BULK = new RequestDefaults(ExitPolicy.Deep.INSTANCE, Priority.BULK, null, null);
}
