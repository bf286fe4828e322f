package dev.exitflow.actors;

/**
 * One text to embed. {@code deadlineMs} (optional) is the time budget from submission, used by
 * {@code auto} to decide how deep it can go; {@code dimensions} (optional) asks for Matryoshka
 * truncation. {@code minFidelity} (optional, 0..1) is a quality floor: {@code auto}, {@code shallow}
 * and the depth controller never let the request leave at an exit whose measured fidelity is below
 * it (see {@link EncoderRuntime#exits()}).
 */
public record EmbeddingRequest(String text, ExitPolicy exit, Long deadlineMs, Priority priority, Integer dimensions,
    Double minFidelity) {
  public EmbeddingRequest(String text, ExitPolicy exit, Long deadlineMs, Priority priority, Integer dimensions) {
    this(text, exit, deadlineMs, priority, dimensions, null);
  }

  public EmbeddingRequest {
    exit = exit == null ? ExitPolicy.Deep.INSTANCE : exit;
    priority = priority == null ? Priority.INTERACTIVE : priority;
  }

  public static EmbeddingRequest of(String text, ExitPolicy exit) {
    return new EmbeddingRequest(text, exit, null, Priority.INTERACTIVE, null);
  }

  public EmbeddingRequest withDeadlineMs(long ms) {
    return new EmbeddingRequest(text, exit, ms, priority, dimensions, minFidelity);
  }

  public EmbeddingRequest withPriority(Priority p) {
    return new EmbeddingRequest(text, exit, deadlineMs, p, dimensions, minFidelity);
  }

  public EmbeddingRequest withMinFidelity(Double floor) {
    return new EmbeddingRequest(text, exit, deadlineMs, priority, dimensions, floor);
  }
}
