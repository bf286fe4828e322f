package dev.exitflow.gateway.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where batches are kept: {@code <dir>/<id>/batch.json} (the batch object) and
 * {@code checkpoint.json}, each replaced atomically so a crash leaves the old or the new one,
 * beside the batch's output and error files.
 */
final class BatchFiles {
  private static final Logger log = LoggerFactory.getLogger(BatchFiles.class);
  private final Path dir;

  BatchFiles(Path dir) {
    this.dir = dir;
  }

  /** The directory of batch {@code id}. */
  Path dir(String id) {
    return dir.resolve(id);
  }

  /** Every stored batch; an unreadable one is logged and skipped. */
  List<ObjectNode> loadAll() {
    List<ObjectNode> all = new ArrayList<>();
    try {
      Files.createDirectories(dir);
      try (Stream<Path> dirs = Files.list(dir)) {
        dirs.filter(d -> Files.exists(d.resolve("batch.json"))).forEach(d -> {
          try {
            all.add((ObjectNode) FileStore.JSON.readTree(d.resolve("batch.json").toFile()));
          } catch (IOException e) {
            log.error("batch in {} is unreadable, skipped: {}", d, e.toString());
          }
        });
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return all;
  }

  void save(ObjectNode batch) {
    writeAtomically(dir(batch.get("id").asText()).resolve("batch.json"), batch);
  }

  Checkpoint readCheckpoint(String id) throws IOException {
    Path file = dir(id).resolve("checkpoint.json");
    return Files.exists(file) ? FileStore.JSON.readValue(file.toFile(), Checkpoint.class) : Checkpoint.START;
  }

  void writeCheckpoint(String id, Checkpoint c) {
    writeAtomically(dir(id).resolve("checkpoint.json"), c);
  }

  private static void writeAtomically(Path file, Object value) {
    try {
      Files.createDirectories(file.getParent());
      Path part = file.resolveSibling(file.getFileName() + ".part");
      FileStore.JSON.writeValue(part.toFile(), value);
      Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
