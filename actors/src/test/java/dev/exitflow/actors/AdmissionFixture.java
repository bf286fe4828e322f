package dev.exitflow.actors;

import dev.exitflow.model.tokenize.TokenizedText;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;

/**
 * A runtime's admission state without actors, for admission's tests: 3 stages of 2 workers each,
 * every stage having measured batches of 8 inputs of {@link #TOKENS} tokens that take
 * {@code batchMs}.
 */
class AdmissionFixture {
  static final long MS = 1_000_000L;
  static final int STAGES = 3;
  static final int TOKENS = 256;

  final RuntimeSettings settings;
  final StageBatcher[] batchers = new StageBatcher[STAGES];
  final WorkerPool workers;
  final Replies replies;
  final Admission admission;
  private final ActorTestKit kit;

  /** {@code rules} may be null where nothing reads them (failing a request does not). */
  AdmissionFixture(ActorTestKit kit, RuntimeSettings settings, ExitRules rules, long batchMs) {
    this.kit = kit;
    this.settings = settings;
    workers = new WorkerPool(STAGES, 2, 2, settings.busyWorkersPerNode(), ready -> {});
    for (int s = 0; s < STAGES; s++) {
      batchers[s] = new StageBatcher(s, settings.batching(),
          s == 0 ? settings.firstStageQueueCapacity() : Integer.MAX_VALUE);
      batchers[s].recordBatch(8, 8 * TOKENS, batchMs * MS, 0, false);
      workers.join(kit.<StageWorker.Command>createTestProbe().ref(), s);
      workers.join(kit.<StageWorker.Command>createTestProbe().ref(), s);
    }
    replies = new Replies(rules, RuntimeListener.NONE);
    admission = new Admission(settings, rules, batchers, workers, replies, RuntimeListener.NONE);
  }

  /** {@code r} as the scheduler holds it: {@link #TOKENS} tokens, going as deep as the last stage. */
  Pending pending(EmbeddingRequest r) {
    return new Pending(r, new TokenizedText(new long[TOKENS], new long[TOKENS], false),
        kit.<StatusReply<EmbeddingResult>>createTestProbe().ref(), null, STAGES - 1);
  }
}
