package dev.exitflow.actors;

import dev.exitflow.model.tokenize.TokenizedText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToIntFunction;
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

  /** The inputs of one request as pending requests of a new group, each headed for its policy's target stage. */
  static List<Pending> members(List<EmbeddingRequest> requests, List<TokenizedText> tokens,
      ActorRef<StatusReply<List<EmbeddingResult>>> replyTo, ToIntFunction<EmbeddingRequest> targetStage) {
    RequestGroup group = new RequestGroup(requests.size(), replyTo);
    List<Pending> members = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      members.add(new Pending(requests.get(i), tokens.get(i), group, i, targetStage.applyAsInt(requests.get(i))));
    }
    return members;
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
