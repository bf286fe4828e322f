package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Files of OpenAI's Files API, kept in {@code <data-dir>/files}: the content as {@code <id>.data}
 * and its description as {@code <id>.json}. A file becomes visible only once both are complete
 * (written under temporary names, then renamed), so a crash never leaves half a file listed.
 */
public final class FileStore {
  static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final Path dir;

  public FileStore(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      try (Stream<Path> leftovers = Files.list(dir)) { // uploads a crash interrupted
        leftovers.filter(p -> p.getFileName().toString().endsWith(".part")).forEach(p -> p.toFile().delete());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A place to stream an upload to; {@link #add} then makes it a file. */
  public Path newUpload() {
    return dir.resolve("upload-" + UUID.randomUUID() + ".part");
  }

  /** Stores {@code content} (moved, not copied) as a new file. */
  public StoredFile add(Path content, String filename, String purpose) {
    String id = "file-" + UUID.randomUUID().toString().replace("-", "");
    try {
      StoredFile f = new StoredFile(id, Files.size(content), Instant.now().getEpochSecond(), filename, purpose);
      Files.move(content, data(id), StandardCopyOption.ATOMIC_MOVE);
      Path meta = dir.resolve(id + ".json.part");
      JSON.writeValue(meta.toFile(), f);
      Files.move(meta, dir.resolve(id + ".json"), StandardCopyOption.ATOMIC_MOVE);
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException("could not store " + filename + ": " + e.getMessage(), e);
    }
  }

  public Optional<StoredFile> get(String id) {
    Path meta = dir.resolve(id + ".json");
    if (!validId(id) || !Files.exists(meta)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(meta.toFile(), StoredFile.class));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The content of a file (which {@link #get} must have found). */
  public Path data(String id) {
    return dir.resolve(id + ".data");
  }

  /** Every file, newest first. */
  public List<StoredFile> list() {
    List<StoredFile> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
          .map(n -> n.substring(0, n.length() - ".json".length()))
          .forEach(id -> get(id).ifPresent(out::add));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.sort(Comparator.comparingLong(StoredFile::createdAt).reversed().thenComparing(StoredFile::id));
    return out;
  }

  public boolean delete(String id) {
    if (get(id).isEmpty()) {
      return false;
    }
    try {
      Files.deleteIfExists(dir.resolve(id + ".json"));
      Files.deleteIfExists(data(id));
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Ids are ours ({@code file-} and hex): nothing else may reach the file system. */
  private static boolean validId(String id) {
    return id.matches("file-[0-9a-f]{32}");
  }
}
