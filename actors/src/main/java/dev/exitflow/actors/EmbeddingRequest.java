package dev.exitflow.actors;

/**
 * One text to embed. {@code deadlineMs} (optional) is the time budget from submission, used by
 * {@code auto} to decide how deep it can go; {@code dimensions} (optional) asks for Matryoshka
 * truncation.
 */
public record EmbeddingRequest(String text, ExitPolicy exit, Long deadlineMs, Priority priority, Integer dimensions) {
  public EmbeddingRequest {
    exit = exit == null ? ExitPolicy.Deep.INSTANCE : exit;
    priority = priority == null ? Priority.INTERACTIVE : priority;
  }

  public static EmbeddingRequest of(String text, ExitPolicy exit) {
    return new EmbeddingRequest(text, exit, null, Priority.INTERACTIVE, null);
  }

  public EmbeddingRequest withDeadlineMs(long ms) {
    return new EmbeddingRequest(text, exit, ms, priority, dimensions);
  }

  public EmbeddingRequest withPriority(Priority p) {
    return new EmbeddingRequest(text, exit, deadlineMs, p, dimensions);
  }
}
