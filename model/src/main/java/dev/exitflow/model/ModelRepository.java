package dev.exitflow.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Turns a model reference — a built-in name or a directory — into a {@link ModelDescriptor} whose
 * files exist on disk. Built-in models travel inside Maven artifacts; their files are copied once
 * into the cache directory, because ONNX Runtime and the tokenizer read from paths.
 */
public final class ModelRepository {
  private static final String BUILTIN_PREFIX = "dev/exitflow/model/builtin/";
  /** Names of the models shipped with Exitflow (each has a descriptor resource). */
  public static final List<String> BUILTIN = List.of("all-minilm-l6-v2", "all-minilm-l6-v2-q");

  private final Path cacheDir;

  public ModelRepository(ModelSettings settings) {
    this.cacheDir = settings.cacheDir();
  }

  public ModelDescriptor resolve(String reference) {
    if (BUILTIN.contains(reference)) {
      return builtin(reference);
    }
    Path dir = Path.of(reference);
    if (Files.isDirectory(dir)) {
      return ModelDescriptor.readDirectory(dir.toAbsolutePath());
    }
    throw new ModelFormatException(
        "unknown_model", "model '" + reference + "' is neither a built-in " + BUILTIN + " nor a directory");
  }

  private ModelDescriptor builtin(String name) {
    Path dir = cacheDir.resolve("builtin").resolve(name);
    try (InputStream json = resource(BUILTIN_PREFIX + name + ".json")) {
      ModelDescriptor d = ModelDescriptor.parse(json, name, dir);
      extract(d.onnxFile());
      extract(d.tokenizerFile());
      return d;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies a classpath resource (named like the target file) next to the cache, once. */
  private static void extract(Path target) throws IOException {
    if (Files.isRegularFile(target)) {
      return; // extracted on an earlier run; the carrier jars are immutable releases
    }
    String resource = target.getFileName().toString();
    try (InputStream in = resource(resource)) {
      Files.createDirectories(target.getParent());
      Path tmp = Files.createTempFile(target.getParent(), resource, ".part");
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static InputStream resource(String name) {
    InputStream in = ModelRepository.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new ModelFormatException("missing_model_file", "resource " + name + " is not on the classpath");
    }
    return in;
  }

}
