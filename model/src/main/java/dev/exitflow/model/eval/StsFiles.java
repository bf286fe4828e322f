package dev.exitflow.model.eval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the datasets that ship with Exitflow: the repository's {@code data/} folder is packed
 * into the model module's jar under {@code dev/exitflow/data/}, so a bare name such as
 * {@code sts-test.csv} resolves from the classpath (a file under {@code target/classes} or an
 * entry of the jar, read through its zip file system), never from beside the checkout.
 */
public final class StsFiles {
  static final String RESOURCES = "/dev/exitflow/data/";
  static final String STS = "stsbenchmark/";
  /** The folders of data/ whose files a bare name finds, in this order. */
  static final List<String> FOLDERS = List.of(STS, "europarl/");

  private StsFiles() {}

  /**
   * A file given by path if it exists, else the file of that name shipped in the jar: an STS-B
   * file (data/stsbenchmark) or a calibration corpus (data/europarl).
   */
  public static Path locate(String file) {
    Path direct = Path.of(file);
    if (Files.isRegularFile(direct)) {
      return direct;
    }
    String name = direct.getFileName().toString();
    for (String folder : FOLDERS) {
      Optional<Path> found = bundled(folder + name);
      if (found.isPresent()) {
        return found.get();
      }
    }
    throw new IllegalArgumentException("dataset " + file + " is neither a file nor one shipped with Exitflow "
        + "(sts-train.csv, sts-dev.csv, sts-test.csv, europarl-en.txt, europarl-passages-en.txt)");
  }

  /** A shipped data file by its path under {@code data/}, e.g. {@code stsbenchmark/sts-dev.csv}. */
  public static Optional<Path> bundled(String relative) {
    URL url = StsFiles.class.getResource(RESOURCES + relative);
    if (url == null) {
      return Optional.empty();
    }
    try {
      URI uri = url.toURI();
      if ("jar".equals(uri.getScheme())) {
        try {
          FileSystems.newFileSystem(uri, Map.of());
        } catch (FileSystemAlreadyExistsException e) {
          // opened by an earlier lookup: Path.of finds it
        }
      }
      return Optional.of(Path.of(uri));
    } catch (URISyntaxException e) {
      throw new IllegalStateException("bad resource URL " + url, e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + url, e);
    }
  }
}
