package dev.exitflow.gateway.batch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A running batch's output and error files, written in input order from a checkpoint on: each
 * file is first cut back to the checkpoint's length (dropping what a crash wrote after it), then
 * appended to; every {@code interval} both are forced to disk and a new checkpoint is handed to
 * {@code onCheckpoint}. {@link #close()} writes the last one.
 */
final class BatchOutput implements AutoCloseable {
  /** One input line's outcome: the output line's JSON (without its newline), null for a blank line. */
  record Line(long index, byte[] json, boolean failed) {}

  private static final byte[] NEWLINE = {'\n'};

  private final FileChannel output;
  private final FileChannel errors;
  private final long intervalNanos;
  private final Consumer<Checkpoint> onCheckpoint;
  private long line;
  private long completed;
  private long failed;
  private long lastCheckpoint = System.nanoTime();
  private Checkpoint checkpoint;

  private BatchOutput(FileChannel output, FileChannel errors, Checkpoint from, Duration interval,
      Consumer<Checkpoint> onCheckpoint) {
    this.output = output;
    this.errors = errors;
    this.intervalNanos = interval.toNanos();
    this.onCheckpoint = onCheckpoint;
    this.line = from.line();
    this.completed = from.completed();
    this.failed = from.failed();
    this.checkpoint = from;
  }

  static BatchOutput open(Path dir, Checkpoint from, Duration interval, Consumer<Checkpoint> onCheckpoint)
      throws IOException {
    Files.createDirectories(dir);
    FileChannel output = channel(dir.resolve("output.jsonl"), from.outputBytes());
    FileChannel errors = channel(dir.resolve("errors.jsonl"), from.errorBytes());
    return new BatchOutput(output, errors, from, interval, onCheckpoint);
  }

  private static FileChannel channel(Path file, long length) throws IOException {
    FileChannel c = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    c.truncate(length);
    c.position(length);
    return c;
  }

  void write(Line l) {
    try {
      if (l.json() != null) {
        FileChannel target = l.failed() ? errors : output;
        ByteBuffer[] bytes = {ByteBuffer.wrap(l.json()), ByteBuffer.wrap(NEWLINE)};
        while (bytes[1].hasRemaining()) {
          target.write(bytes);
        }
        if (l.failed()) {
          failed++;
        } else {
          completed++;
        }
      }
      line = l.index() + 1;
      if (System.nanoTime() - lastCheckpoint >= intervalNanos) {
        checkpoint();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  long completed() {
    return completed;
  }

  long failed() {
    return failed;
  }

  /** The last checkpoint written. */
  Checkpoint lastCheckpoint() {
    return checkpoint;
  }

  private void checkpoint() throws IOException {
    output.force(false);
    errors.force(false);
    checkpoint = new Checkpoint(line, output.position(), errors.position(), completed, failed);
    onCheckpoint.accept(checkpoint);
    lastCheckpoint = System.nanoTime();
  }

  @Override
  public void close() throws IOException {
    try {
      checkpoint();
    } finally {
      output.close();
      errors.close();
    }
  }
}
