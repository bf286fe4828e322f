package dev.exitflow.actors;

/**
 * One text to embed. {@code deadlineMs} (optional) is the time budget from submission, used by
 * {@code auto} to decide how deep it can go; {@code dimensions} (optional) asks for Matryoshka
 * truncation. {@code minFidelity} (optional, 0..1) is a quality floor: {@code auto}, {@code shallow}
 * and the depth controller never let the request leave at an exit whose measured fidelity is below
 * it (see {@link EncoderRuntime#exits()}). {@code softDeadline}: the deadline only guides the depth,
 * and a request predicted to miss it is served late at the shallowest exit it allows rather than
 * refused: that of a Kafka record or a {@code /v1/bulk} line, whose sender could only send it again
 * later. Otherwise an {@code auto} request predicted to miss its deadline is refused at once
 * ({@link Overloaded}).
 */
public record EmbeddingRequest(String text, ExitPolicy exit, Long deadlineMs, Priority priority, Integer dimensions,
    Double minFidelity, boolean softDeadline) {
  public EmbeddingRequest(String text, ExitPolicy exit, Long deadlineMs, Priority priority, Integer dimensions) {
    this(text, exit, deadlineMs, priority, dimensions, null);
  }

  public EmbeddingRequest(String text, ExitPolicy exit, Long deadlineMs, Priority priority, Integer dimensions,
      Double minFidelity) {
    this(text, exit, deadlineMs, priority, dimensions, minFidelity, false);
  }

  public EmbeddingRequest {
    exit = exit == null ? ExitPolicy.Deep.INSTANCE : exit;
    priority = priority == null ? Priority.INTERACTIVE : priority;
  }

  public static EmbeddingRequest of(String text, ExitPolicy exit) {
    return new EmbeddingRequest(text, exit, null, Priority.INTERACTIVE, null);
  }

  public EmbeddingRequest withDeadlineMs(long ms) {
    return new EmbeddingRequest(text, exit, ms, priority, dimensions, minFidelity, softDeadline);
  }

  public EmbeddingRequest withPriority(Priority p) {
    return new EmbeddingRequest(text, exit, deadlineMs, p, dimensions, minFidelity, softDeadline);
  }

  public EmbeddingRequest withMinFidelity(Double floor) {
    return new EmbeddingRequest(text, exit, deadlineMs, priority, dimensions, floor, softDeadline);
  }

  /** The same request with a soft deadline: served late rather than refused for it. */
  public EmbeddingRequest withSoftDeadline() {
    return new EmbeddingRequest(text, exit, deadlineMs, priority, dimensions, minFidelity, true);
  }

  /** The same request for another text (a window of a long one). */
  public EmbeddingRequest withText(String other) {
    return new EmbeddingRequest(other, exit, deadlineMs, priority, dimensions, minFidelity, softDeadline);
  }
}
