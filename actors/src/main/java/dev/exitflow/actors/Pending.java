package dev.exitflow.actors;

import dev.exitflow.model.runtime.HiddenState;
import dev.exitflow.model.tokenize.TokenizedText;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * One admitted request on its way through the stages: what it asked for, its tokens, its hidden
 * state after the last stage it passed, and the time it has spent queueing and computing.
 */
final class Pending {
  final EmbeddingRequest request;
  final TokenizedText tokens;
  /** Who hears the outcome: the request's own asker, or else the group it was admitted with. */
  private final ActorRef<StatusReply<EmbeddingResult>> replyTo;
  private final RequestGroup group;
  private final int index;
  /** Stage after which a promise policy must exit; the last stage for {@code auto}. */
  final int targetStage;
  /** Shallowest stage an {@code auto} request may leave after: exits below it lack adapters or fidelity. */
  int minStage;
  /** Absolute deadline on the runtime's clock; Long.MAX_VALUE when the request has none (set at admission). */
  long deadlineNanos = Long.MAX_VALUE;
  /** When it counts as late for {@link DeadlineShare}; Long.MAX_VALUE when admission could not refuse it (set at admission). */
  long lateNanos = Long.MAX_VALUE;
  /** Order of service at every stage, earliest first: the deadline, or a slack after arrival (set at admission). */
  long urgencyNanos;

  /** Receives the first exit's result of a request that goes on (null: nobody asked). */
  java.util.function.Consumer<EmbeddingResult> early;
  HiddenState state;
  /** Full-size unit embedding at the exit of the last stage passed (computed by that stage's worker). */
  float[] embedding;
  long enqueuedNanos;
  /** Times this request's batch was lost with its worker and re-queued. */
  int retries;
  long queueNanos;
  long computeNanos;

  /** A request of one input; {@code early} (or null) hears its first exit's result if it goes on. */
  Pending(EmbeddingRequest request, TokenizedText tokens, ActorRef<StatusReply<EmbeddingResult>> replyTo,
      java.util.function.Consumer<EmbeddingResult> early, int targetStage) {
    this(request, tokens, replyTo, null, 0, targetStage);
    this.early = early;
  }

  /** Input {@code index} of a multi-input request. */
  Pending(EmbeddingRequest request, TokenizedText tokens, RequestGroup group, int index, int targetStage) {
    this(request, tokens, null, group, index, targetStage);
  }

  private Pending(EmbeddingRequest request, TokenizedText tokens, ActorRef<StatusReply<EmbeddingResult>> replyTo,
      RequestGroup group, int index, int targetStage) {
    this.request = request;
    this.tokens = tokens;
    this.replyTo = replyTo;
    this.group = group;
    this.index = index;
    this.targetStage = targetStage;
  }

  /** A stage ran for this request: its hidden state, its embedding at that stage's exit (or null), the batch's compute time. */
  void ran(HiddenState state, float[] embedding, long computeNanos) {
    this.state = state;
    this.embedding = embedding;
    this.computeNanos += computeNanos;
  }

  void succeed(EmbeddingResult result) {
    if (group != null) {
      group.succeed(index, result);
    } else {
      replyTo.tell(StatusReply.success(result));
    }
  }

  void fail(Throwable error) {
    if (group != null) {
      group.fail(error);
    } else {
      replyTo.tell(StatusReply.error(error));
    }
  }

  boolean isAuto() {
    return request.exit() instanceof ExitPolicy.Auto;
  }

  int length() {
    return tokens.length();
  }
}
