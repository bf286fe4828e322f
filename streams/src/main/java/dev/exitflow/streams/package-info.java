/**
 * Exitflow's streams: Kafka ingest and emit (committable source, producer, committer, dead
 * letters), the inference flow every source shares, and bulk scoring. Filled by the issue "Kafka
 * pipeline"; until then this module only fixes its place in the build ({@code gateway -> streams}).
 */
package dev.exitflow.streams;
