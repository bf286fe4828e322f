package dev.exitflow.model;

/** A model that cannot be loaded: a missing file, a bad descriptor, or a graph that is not a BERT-family encoder. */
public final class ModelFormatException extends ExitflowException {
  public ModelFormatException(String code, String message) {
    super(code, message, null);
  }

  public ModelFormatException(String code, String message, Throwable cause) {
    super(code, message, cause);
  }

  public static ModelFormatException missingFile(java.nio.file.Path file, String what) {
    return new ModelFormatException("missing_model_file", "model file missing: " + what + " at " + file);
  }

  public static ModelFormatException notAnEncoder(String model, String why) {
    return new ModelFormatException(
        "not_an_encoder", "model '" + model + "' is not a BERT-family encoder graph: " + why);
  }
}
