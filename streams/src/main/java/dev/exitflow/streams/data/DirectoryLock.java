package dev.exitflow.streams.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a directory Exitflow keeps data in (the embedded broker's log, later batch
 * jobs), so that a second process started on the same directory is refused with a message naming
 * the holder instead of corrupting the first one's files. The operating system releases the lock
 * when the process dies, so a SIGKILL never leaves a stale lock behind; the file itself stays.
 */
public final class DirectoryLock implements AutoCloseable {
  /** The lock file's name inside the locked directory; it holds the holder's process id. */
  public static final String FILE = "exitflow.lock";

  private final Path dir;
  private final FileChannel channel;
  private final FileLock lock;

  private DirectoryLock(Path dir, FileChannel channel, FileLock lock) {
    this.dir = dir;
    this.channel = channel;
    this.lock = lock;
  }

  /** Creates {@code dir} if needed and locks it, or throws {@link DirectoryInUse}. */
  public static DirectoryLock acquire(Path dir) {
    Path file = dir.resolve(FILE);
    FileChannel channel = null;
    try {
      Files.createDirectories(dir);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // held by this very process
      }
      if (lock == null) {
        String holder = Files.readString(file, StandardCharsets.UTF_8).trim();
        channel.close();
        throw new DirectoryInUse(dir, holder.isEmpty() ? "unknown" : holder);
      }
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(String.valueOf(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)), 0);
      channel.force(false);
      return new DirectoryLock(dir, channel, lock);
    } catch (IOException e) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // already failing
        }
      }
      throw new UncheckedIOException("could not lock " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Another process (or another component of this one) holds the directory. */
  public static final class DirectoryInUse extends IllegalStateException {
    public DirectoryInUse(Path dir, String holder) {
      super("the data directory " + dir + " is in use by another Exitflow process (pid " + holder
          + "); stop it, or give this one another directory (exitflow.data-dir / EXITFLOW_DATA_DIR)");
    }
  }
}
