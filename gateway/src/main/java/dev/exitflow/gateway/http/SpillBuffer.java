package dev.exitflow.gateway.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * A buffer between a bulk response's results and the client, so that computing never waits for
 * the client to read: results wait in memory up to {@code memoryBytes}, beyond that in a temporary
 * file, in order. A client that sends its whole body before reading anything (most HTTP
 * libraries) would otherwise deadlock with the server: results (an embedding is far larger than
 * its input line) fill the socket, the server stops reading, and the client, still sending, never
 * reads. Only past {@code maxSpillBytes} on disk does it stop pulling.
 *
 * <p>Emits when downstream pulls and a result is buffered; backpressures upstream only while the
 * file holds {@code maxSpillBytes}; completes when upstream has completed and everything buffered
 * has been emitted; cancels when downstream cancels. The file is deleted when the stage stops.
 * File reads and writes block, so the stage runs on the blocking-IO dispatcher.
 */
final class SpillBuffer extends GraphStage<FlowShape<ByteString, ByteString>> {
  private static final String BLOCKING_IO = "pekko.stream.materializer.blocking-io-dispatcher";

  private final Inlet<ByteString> in = Inlet.create("SpillBuffer.in");
  private final Outlet<ByteString> out = Outlet.create("SpillBuffer.out");
  private final FlowShape<ByteString, ByteString> shape = FlowShape.of(in, out);
  private final long memoryBytes;
  private final long maxSpillBytes;
  private final Path dir;

  private SpillBuffer(long memoryBytes, long maxSpillBytes, Path dir) {
    this.memoryBytes = memoryBytes;
    this.maxSpillBytes = maxSpillBytes;
    this.dir = dir;
  }

  static Flow<ByteString, ByteString, NotUsed> flow(long memoryBytes, long maxSpillBytes, Path dir) {
    return Flow.fromGraph(new SpillBuffer(memoryBytes, maxSpillBytes, dir)).async(BLOCKING_IO);
  }

  @Override
  public FlowShape<ByteString, ByteString> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic();
  }

  private final class Logic extends GraphStageLogic {
    /** The head of the queue, in memory; the tail, once anything spilled, is in the file. */
    private final ArrayDeque<ByteString> memory = new ArrayDeque<>();
    private long inMemory;
    private FileChannel file;
    private Path path;
    private long readAt;
    private long writeAt;

    Logic() {
      super(shape);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          ByteString element = grab(in);
          if (isAvailable(out) && memory.isEmpty() && !spilled()) {
            push(out, element);
          } else {
            enqueue(element);
          }
          pullIfRoom();
        }

        @Override
        public void onUpstreamFinish() {
          if (memory.isEmpty() && !spilled()) {
            completeStage();
          }
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (memory.isEmpty() && spilled()) {
            refill();
          }
          if (!memory.isEmpty()) {
            ByteString next = memory.poll();
            inMemory -= next.size();
            push(out, next);
            pullIfRoom();
          }
          if (memory.isEmpty() && !spilled() && isClosed(in)) {
            completeStage();
          }
        }
      });
    }

    @Override
    public void preStart() {
      pull(in);
    }

    private boolean spilled() {
      return readAt < writeAt;
    }

    private void pullIfRoom() {
      if (!isClosed(in) && !hasBeenPulled(in) && writeAt - readAt < maxSpillBytes) {
        pull(in);
      }
    }

    private void enqueue(ByteString element) {
      if (!spilled() && inMemory + element.size() <= memoryBytes) {
        memory.add(element);
        inMemory += element.size();
        return;
      }
      try {
        if (file == null) {
          path = Files.createTempFile(dir, "exitflow-bulk-", ".spill");
          file = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
              StandardOpenOption.DELETE_ON_CLOSE);
        }
        ByteBuffer record = ByteBuffer.allocate(4 + element.size());
        record.putInt(element.size()).put(element.toByteBuffer()).flip();
        while (record.hasRemaining()) {
          writeAt += file.write(record, writeAt);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("bulk results could not spill to " + dir + ": " + e.getMessage(), e);
      }
    }

    /** Moves results from the file back to memory, up to the memory bound; rewinds an emptied file. */
    private void refill() {
      try {
        ByteBuffer size = ByteBuffer.allocate(4);
        while (spilled() && (memory.isEmpty() || inMemory < memoryBytes)) {
          size.clear();
          readFully(size, readAt);
          ByteBuffer data = ByteBuffer.allocate(size.flip().getInt());
          readFully(data, readAt + 4);
          readAt += 4 + data.capacity();
          memory.add(ByteString.fromByteBuffer(data.flip()));
          inMemory += data.capacity();
        }
        if (!spilled()) {
          readAt = 0;
          writeAt = 0;
          file.truncate(0);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("bulk results could not be read back from " + path + ": " + e.getMessage(), e);
      }
    }

    private void readFully(ByteBuffer b, long at) throws IOException {
      long position = at;
      while (b.hasRemaining()) {
        int n = file.read(b, position);
        if (n < 0) {
          throw new IOException("unexpected end of the spill file");
        }
        position += n;
      }
    }

    @Override
    public void postStop() {
      if (file != null) {
        try {
          file.close(); // deletes it
        } catch (IOException ignored) {
          // the temporary file goes with the JVM's temp directory cleanup
        }
      }
    }
  }
}
