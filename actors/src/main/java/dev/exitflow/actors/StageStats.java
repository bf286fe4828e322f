package dev.exitflow.actors;

/**
 * A snapshot of one stage: queue depth, age of its oldest request, mean batch size, service rate
 * (requests/s over all its workers), the expected queueing delay of a request arriving now, and
 * the number of batches run so far. Stages count from 0.
 */
public record StageStats(
    int stage,
    int queueDepth,
    double oldestAgeMs,
    double meanBatchSize,
    double serviceRatePerS,
    double expectedWaitMs,
    long batches) {}
