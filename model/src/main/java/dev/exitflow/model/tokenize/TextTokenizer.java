package dev.exitflow.model.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.ModelFormatException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's Hugging Face tokenizer (through DJL's native binding), set to truncate at the
 * model's maximum sequence length and not to pad: batches are padded later, to their longest member.
 */
public final class TextTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;

  public TextTokenizer(ModelDescriptor model) {
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
      out.add(new TokenizedText(e.getIds(), e.getTypeIds(), e.exceedMaxLength()));
    }
    return out;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
