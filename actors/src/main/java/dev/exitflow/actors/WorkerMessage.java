package dev.exitflow.actors;

/**
 * Marks the messages that cross nodes between a scheduler and its stage workers in a cluster;
 * {@link WorkerMessageSerializer} writes them (see serialization-bindings in reference.conf). Sealed,
 * so a new one cannot be added without the serializer and its test knowing of it.
 */
public sealed interface WorkerMessage permits StageWorker.Run, StageWorker.Outcome {}
