package dev.exitflow.model.runtime;

import dev.exitflow.model.ExitflowException;

/** No configured execution provider could run the model (or, strict, the first one could not). */
public final class ProviderUnavailableException extends ExitflowException {
  public ProviderUnavailableException(String message, Throwable cause) {
    super("provider_unavailable", message, cause);
  }
}
