package dev.exitflow.actors;

/**
 * Marks the messages that cross nodes between a scheduler and its stage workers in a cluster;
 * they are serialized with Jackson CBOR (see serialization-bindings in reference.conf).
 */
public interface WorkerMessage {}
