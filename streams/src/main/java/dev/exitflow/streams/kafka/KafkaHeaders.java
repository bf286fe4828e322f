package dev.exitflow.streams.kafka;

/** Names of the headers Exitflow writes on result and dead-letter records. */
public final class KafkaHeaders {
  private KafkaHeaders() {}

  /** On results: the layer the request left the encoder after (decimal). */
  public static final String EXIT_LAYER = "exitflow-exit-layer";
  /** On results: the model's name. */
  public static final String MODEL = "exitflow-model";
  /** On dead letters: the error's stable code (an {@code ErrorCode}, as on every transport), e.g. {@code invalid_json}. */
  public static final String ERROR_CODE = "exitflow-error-code";
  /** On dead letters: the error's message, in words. */
  public static final String ERROR_MESSAGE = "exitflow-error-message";
  /** On dead letters: where the request record came from. */
  public static final String SOURCE_TOPIC = "exitflow-source-topic";
  public static final String SOURCE_PARTITION = "exitflow-source-partition";
  public static final String SOURCE_OFFSET = "exitflow-source-offset";
}
