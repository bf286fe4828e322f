package dev.exitflow.model.adapter;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * One adapter on disk: a small binary file ({@code exit-<layer>.adapter}) with a magic word and a
 * format version, the fit's metadata, then the weights and biases as floats. Written to a
 * temporary file and moved in, so a reader never sees half an adapter.
 */
public final class AdapterFile {
  private static final int MAGIC = 0x45584144; // "EXAD"
  private static final int VERSION = 3; // 2: input means kept apart from the bias; 3: the cosine is held-out fidelity

  private AdapterFile() {}

  public static String name(int exitLayer) {
    return "exit-" + exitLayer + ".adapter";
  }

  public static void write(ExitAdapter a, Path file) {
    try {
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".part");
      try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeUTF(a.model());
        out.writeInt(a.exitLayer());
        out.writeInt(a.features());
        out.writeInt(a.hiddenSize());
        out.writeDouble(a.penalty());
        out.writeInt(a.corpusSentences());
        out.writeDouble(a.fidelity());
        for (float m : a.inputMean()) {
          out.writeFloat(m);
        }
        for (float w : a.weights()) {
          out.writeFloat(w);
        }
        for (float b : a.bias()) {
          out.writeFloat(b);
        }
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new AdapterFormatException("cannot write adapter " + file + ": " + e.getMessage(), e);
    }
  }

  public static ExitAdapter read(Path file) {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      if (in.readInt() != MAGIC) {
        throw new AdapterFormatException(file + " is not an Exitflow adapter file");
      }
      int version = in.readInt();
      if (version != VERSION && version != 2) {
        throw new AdapterFormatException(
            file + " is adapter format version " + version + ", this build reads " + VERSION + "; run calibrate again");
      }
      String model = in.readUTF();
      int exitLayer = in.readInt();
      int features = in.readInt();
      int hidden = in.readInt();
      double penalty = in.readDouble();
      int sentences = in.readInt();
      // Version 2 stored the cosine on the fitted sentences themselves, not a held-out fidelity.
      double fidelity = version == 2 ? Double.NaN : in.readDouble();
      if (version == 2) {
        in.readDouble();
      }
      if (features <= 0 || hidden <= 0 || (long) features * hidden > Integer.MAX_VALUE) {
        throw new AdapterFormatException(file + " declares an impossible size " + features + " x " + hidden);
      }
      float[] mean = new float[features];
      for (int i = 0; i < features; i++) {
        mean[i] = in.readFloat();
      }
      float[] weights = new float[features * hidden];
      for (int i = 0; i < weights.length; i++) {
        weights[i] = in.readFloat();
      }
      float[] bias = new float[hidden];
      for (int i = 0; i < hidden; i++) {
        bias[i] = in.readFloat();
      }
      return new ExitAdapter(model, exitLayer, features, hidden, penalty, sentences, fidelity, mean, weights, bias);
    } catch (IOException e) {
      throw new AdapterFormatException("cannot read adapter " + file + ": " + e.getMessage(), e);
    }
  }
}
