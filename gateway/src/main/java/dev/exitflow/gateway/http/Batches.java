package dev.exitflow.gateway.http;

import dev.exitflow.gateway.batch.BatchRunner;
import dev.exitflow.gateway.batch.FileStore;

/** The Files and Batch API's stores, for the routes (see {@link BatchApi}). */
public record Batches(FileStore files, BatchRunner runner, long maxFileBytes) {}
