package dev.exitflow.streams.request;

import java.util.Locale;

/**
 * What happens to a text past the model's maximum length (request field {@code long_text}):
 * {@code truncate} cuts it there and flags the result {@code truncated}; {@code chunk} embeds it in
 * overlapping windows pooled into one embedding (see {@link dev.exitflow.streams.Chunking}).
 */
public enum LongText {
  TRUNCATE, CHUNK;

  public static LongText parse(String text) {
    for (LongText m : values()) {
      if (m.name().toLowerCase(Locale.ROOT).equals(text)) {
        return m;
      }
    }
    throw new InvalidRequest(ErrorCode.UNKNOWN_LONG_TEXT, "long_text",
        "long_text '" + text + "' is not 'truncate' or 'chunk'");
  }
}
