package dev.exitflow.actors;

import java.util.Arrays;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * The inputs of one multi-input request, admitted together: collects their results in order and
 * replies once, with all of them or with the first error. Lives on the scheduler's thread only.
 */
final class RequestGroup {
  private final EmbeddingResult[] results;
  private final ActorRef<StatusReply<List<EmbeddingResult>>> replyTo;
  private int remaining;
  private boolean answered;

  RequestGroup(int size, ActorRef<StatusReply<List<EmbeddingResult>>> replyTo) {
    this.results = new EmbeddingResult[size];
    this.replyTo = replyTo;
    this.remaining = size;
  }

  void succeed(int index, EmbeddingResult result) {
    results[index] = result;
    if (--remaining == 0 && !answered) {
      answered = true;
      replyTo.tell(StatusReply.success(Arrays.asList(results)));
    }
  }

  void fail(Throwable error) {
    remaining--;
    if (!answered) {
      answered = true;
      replyTo.tell(StatusReply.error(error));
    }
  }
}
