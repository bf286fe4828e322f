package dev.exitflow.model.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's Hugging Face tokenizer (through DJL's native binding), set to truncate at the
 * model's maximum sequence length and not to pad: batches are padded later, to their longest member.
 * Type ids are the tokenizer's, or zeros when the descriptor says {@code "token_type_ids": false}.
 */
public final class TextTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final boolean typeIds;
  private final ModelDescriptor model;
  /** The same tokenizer without truncation, for {@link #windows}; opened on first use. */
  private HuggingFaceTokenizer whole;

  public TextTokenizer(ModelDescriptor model) {
    checkShape(model.tokenizerFile());
    this.model = model;
    this.typeIds = model.feedsTokenTypes();
    try {
      this.tokenizer = HuggingFaceTokenizer.builder()
          .optTokenizerPath(model.tokenizerFile())
          .optMaxLength(model.maxSequenceLength())
          .optTruncation(true)
          .optPadding(false)
          .build();
    } catch (IOException | RuntimeException e) {
      throw new ModelFormatException(
          "bad_tokenizer", "cannot load tokenizer " + model.tokenizerFile() + ": " + e.getMessage(), e);
    }
  }

  /** Tokenizes texts in one native call; an empty or blank text is refused with its index. */
  public List<TokenizedText> tokenize(List<String> texts) {
    for (int i = 0; i < texts.size(); i++) {
      if (texts.get(i) == null || texts.get(i).isBlank()) {
        throw InvalidInputException.emptyInput(i);
      }
    }
    Encoding[] encodings = tokenizer.batchEncode(texts);
    List<TokenizedText> out = new ArrayList<>(encodings.length);
    for (Encoding e : encodings) {
      long[] ids = e.getIds();
      out.add(new TokenizedText(ids, typeIds ? e.getTypeIds() : new long[ids.length], e.exceedMaxLength()));
    }
    return out;
  }

  /**
   * The text cut into windows of at most the model's maximum length (special tokens included),
   * consecutive windows sharing about {@code overlap} tokens; the whole text when it fits in one.
   * Each window's text is tokenized again when embedded, to the same tokens.
   */
  public TextWindows windows(String text, int overlap) {
    if (text == null || text.isBlank()) {
      throw InvalidInputException.emptyInput(0);
    }
    return WindowSplit.split(text, untruncated().encode(text), model.maxSequenceLength(), overlap);
  }

  private synchronized HuggingFaceTokenizer untruncated() {
    if (whole == null) {
      try {
        whole = HuggingFaceTokenizer.builder()
            .optTokenizerPath(model.tokenizerFile())
            .optTruncation(false)
            .optPadding(false)
            .build();
      } catch (IOException | RuntimeException e) {
        throw new ModelFormatException("bad_tokenizer", "cannot load tokenizer " + model.tokenizerFile() + ": "
            + e.getMessage(), e);
      }
    }
    return whole;
  }

  /**
   * Refuses a file that is not a Hugging Face tokenizer.json (a {@code model} with a non-empty
   * {@code vocab}) with a message naming what is missing, before the native loader reports
   * something cryptic about it.
   */
  static void checkShape(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw bad(file, "is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ModelFormatException("bad_tokenizer", "cannot read tokenizer " + file + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw bad(file, "must be a JSON object with a 'model' holding a 'vocab'");
    }
    JsonNode model = root.get("model");
    if (model == null || !model.isObject()) {
      List<String> fields = new ArrayList<>();
      root.fieldNames().forEachRemaining(fields::add);
      throw bad(file, "has no 'model' object (the tokenizer's algorithm and vocabulary); its fields are " + fields);
    }
    JsonNode vocab = model.get("vocab");
    if (vocab == null || !(vocab.isObject() || vocab.isArray()) || vocab.isEmpty()) {
      throw bad(file, "has no vocabulary: 'model' needs a non-empty 'vocab' (model type "
          + model.path("type").asText("not given") + ")");
    }
  }

  private static ModelFormatException bad(Path file, String what) {
    return new ModelFormatException("bad_tokenizer",
        "tokenizer " + file + " is not a Hugging Face tokenizer.json: it " + what);
  }

  @Override
  public synchronized void close() {
    tokenizer.close();
    if (whole != null) {
      whole.close();
    }
  }
}
