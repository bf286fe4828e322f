package dev.exitflow.streams.kafka;

/**
 * Counters of one pipeline since its start: request records consumed (decoded), results and dead
 * letters produced, submissions retried after the runtime said it was overloaded, restarts of the
 * stream after a failure; and the consumer group's lag on the requests topic (records not yet
 * committed, as last measured; -1 before the first measurement).
 */
public record KafkaPipelineStats(long consumed, long results, long deadLetters, long overloadRetries, long restarts,
    long lag) {}
