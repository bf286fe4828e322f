package dev.exitflow.model.compile;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.exitflow.model.ModelDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compiled stages on disk, under {@code <cache>/stages/<model-sha256>-<plan-hash>/}. The key
 * covers the model file's bytes and the plan (exits, drops, kept MLP neurons), all that shapes the stage graphs, so
 * editing either compiles afresh; a directory appears only complete (compiled elsewhere, then moved
 * in). What else shapes the adapters saved beside the stages is their own key ({@link AdapterKey}).
 */
public final class StageCache {
  /** Bump when the compiler's output changes, so old cache entries are not reused. */
  static final int COMPILER_VERSION = 2; // 2: layer outputs inside a stage
  private static final String MANIFEST = "manifest.json";
  private static final Logger log = LoggerFactory.getLogger(StageCache.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

  private final Path root;

  /** What manifest.json holds: the compiled model without its (movable) directory. */
  private record Manifest(String model, int layers, int hiddenSize, List<StageSpec> stages) {}

  public StageCache(Path cacheDir) {
    this.root = cacheDir.resolve("stages");
  }

  /** The compiled stages of {@code model} cut at its exit layers, compiling them on first use. */
  public CompiledModel load(ModelDescriptor model) {
    return load(model, List.of());
  }

  /** Like {@link #load(ModelDescriptor)}, with {@code drops} left out of the stages. */
  public CompiledModel load(ModelDescriptor model, List<Drop> drops) {
    return load(model, drops, MlpSlices.NONE);
  }

  /** Like {@link #load(ModelDescriptor, List)}, with the MLPs cut to the neurons {@code slices} keeps. */
  public CompiledModel load(ModelDescriptor model, List<Drop> drops, MlpSlices slices) {
    Path dir = root.resolve(key(model, drops, slices));
    Path manifest = dir.resolve(MANIFEST);
    try {
      if (!Files.isRegularFile(manifest)) {
        compileInto(model, drops, slices, dir);
      }
      Manifest m = JSON.readValue(manifest.toFile(), Manifest.class);
      return new CompiledModel(m.model(), m.layers(), m.hiddenSize(), m.stages(), dir, AdapterKey.of(model));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot use stage cache " + dir, e);
    }
  }

  private void compileInto(ModelDescriptor model, List<Drop> drops, MlpSlices slices, Path dir) throws IOException {
    log.info("compiling {} into stages at exits {}{}{} ({})", model.name(), model.exitLayers(),
        drops.isEmpty() ? "" : ", dropping " + drops.stream().map(Drop::label).toList(),
        slices.isEmpty() ? "" : ", MLP neurons kept " + slices.label(), dir);
    Files.createDirectories(root);
    Path tmp = Files.createTempDirectory(root, "compiling-");
    try {
      CompiledModel compiled = StageCompiler.compile(model, drops, slices, tmp);
      Manifest manifest =
          new Manifest(compiled.model(), compiled.layers(), compiled.hiddenSize(), compiled.stages());
      JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(MANIFEST).toFile(), manifest);
      try {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        // Another process finished the same compilation first; its result is identical.
      }
    } finally {
      deleteTree(tmp);
    }
  }

  /**
   * The part of a plan that changes the compiled graphs: exits, drops and kept MLP neurons (keep
   * ratios and adapters act at run time). A plan that drops nothing keeps the key it had before drops existed, so its
   * compiled stages and the adapters saved beside them stay valid.
   */
  static String key(ModelDescriptor model, List<Drop> drops) {
    return key(model, drops, MlpSlices.NONE);
  }

  /** Like {@link #key(ModelDescriptor, List)}; sliced MLPs add {@code ;mlp=} and the kept neurons' label. */
  static String key(ModelDescriptor model, List<Drop> drops, MlpSlices slices) {
    String plan = "v" + COMPILER_VERSION + ";exits=" + model.exitLayers().stream()
        .map(String::valueOf).collect(Collectors.joining(","))
        + (drops.isEmpty() ? "" : ";drops=" + drops.stream().map(Drop::label).sorted().distinct()
            .collect(Collectors.joining(",")))
        + (slices.isEmpty() ? "" : ";mlp=" + slices.label());
    return sha256(model.onnxFile()).substring(0, 16) + "-" + hex(digest(plan.getBytes())).substring(0, 12);
  }

  /** The first 16 hex digits of the SHA-256 of the model file: what cache entries derived from it are named by. */
  public static String modelHash(ModelDescriptor model) {
    return sha256(model.onnxFile()).substring(0, 16);
  }

  static String sha256(Path file) {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha())) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
      return hex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] digest(byte[] bytes) {
    return sha().digest(bytes);
  }

  private static MessageDigest sha() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
