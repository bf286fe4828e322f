package dev.exitflow.actors;

import java.util.List;
import java.util.Map;

/**
 * A snapshot of the runtime: every stage's queue and service rate, the depth controller's
 * degradation level (0 = full depth for all; see {@link DepthController}), the share of a deadline
 * admission lets a request's predicted completion take ({@link DeadlineShare}), requests in flight,
 * and counters since start: inputs admitted, requests rejected (whole: each with all its inputs) and
 * the inputs they carried, inputs failed, and completed per exit layer and per reason;
 * the stage workers serving now, and batches run per node address (one entry in one process).
 */
public record RuntimeStats(
    List<StageStats> stages,
    double degradationLevel,
    double deadlineShare,
    int inFlight,
    long admitted,
    long rejected,
    long rejectedInputs,
    long failed,
    Map<Integer, Long> completedByExit,
    Map<ExitReason, Long> completedByReason,
    int workers,
    Map<String, Long> batchesByNode) {}
