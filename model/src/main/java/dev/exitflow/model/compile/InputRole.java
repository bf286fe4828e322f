package dev.exitflow.model.compile;

import java.util.Locale;

/** What a stage input carries; the runtime feeds each input by its role, not its name. */
public enum InputRole {
  TOKEN_IDS,
  ATTENTION_MASK,
  TOKEN_TYPE_IDS,
  /** The hidden state handed over from the previous stage. */
  HIDDEN_STATE;

  /** Role of an original graph input, from the names BERT-family exporters use. */
  static InputRole ofGraphInput(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.contains("mask")) {
      return ATTENTION_MASK;
    }
    if (n.contains("type")) {
      return TOKEN_TYPE_IDS;
    }
    if (n.contains("ids") || n.contains("input")) {
      return TOKEN_IDS;
    }
    return null;
  }
}
