package dev.exitflow.model;

/** A request the engine cannot serve as asked: empty text, an unknown exit, bad dimensions. */
public class InvalidInputException extends ExitflowException {
  public InvalidInputException(String code, String message) {
    super(code, message, null);
  }

  public static InvalidInputException emptyInput(int index) {
    return new InvalidInputException(
        "empty_input", "input " + index + " is empty or only whitespace; there is nothing to embed");
  }

  public static InvalidInputException unknownExit(String exit, Object known) {
    return new InvalidInputException(
        "unknown_exit", "exit '" + exit + "' is not one of " + known);
  }

  public static InvalidInputException dimensionsOutOfRange(int dimensions, int max) {
    return new InvalidInputException(
        "dimensions_out_of_range",
        "dimensions " + dimensions + " is out of range: this model's embeddings have 1.." + max);
  }
}
