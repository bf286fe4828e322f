package dev.exitflow.streams.kafka;

/**
 * Counters of one pipeline since its start: request records consumed (decoded), results and dead
 * letters produced, submissions retried after the runtime said it was overloaded, and restarts
 * of the stream after a failure.
 */
public record KafkaPipelineStats(long consumed, long results, long deadLetters, long overloadRetries, long restarts) {}
