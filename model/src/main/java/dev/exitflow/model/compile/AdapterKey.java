package dev.exitflow.model.compile;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.exitflow.model.ModelDescriptor;
import java.util.ArrayList;
import java.util.List;

/**
 * What shapes an exit adapter beyond the compiled stages it reads (whose own key covers the ONNX
 * bytes, exits and drops): the pooling its target embedding uses, whether token types are fed, the
 * tokenizer file, the truncation length and the declared precision. Adapters are saved under a
 * directory named after its hash, so a descriptor that changes any of these never finds, and never
 * silently reuses, adapters fitted under another.
 */
public record AdapterKey(
    String pooling,
    @JsonProperty("token_type_ids") String tokenTypeIds,
    @JsonProperty("tokenizer_sha256") String tokenizerSha256,
    @JsonProperty("max_sequence_length") int maxSequenceLength,
    String precision) {

  public static AdapterKey of(ModelDescriptor model) {
    return new AdapterKey(model.pooling().name().toLowerCase(java.util.Locale.ROOT),
        model.feedsTokenTypes() ? "tokenizer" : "zeros", StageCache.sha256(model.tokenizerFile()),
        model.maxSequenceLength(), model.precision());
  }

  /** The directory name's suffix: a short hash of every field. */
  public String hash() {
    String s = "pooling=" + pooling + ";types=" + tokenTypeIds + ";tokenizer=" + tokenizerSha256 + ";max="
        + maxSequenceLength + ";precision=" + precision;
    return StageCache.hex(StageCache.digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 12);
  }

  /** The fields that differ from {@code other}'s, as "pooling cls (now mean)", for messages. */
  public List<String> differences(AdapterKey now) {
    List<String> d = new ArrayList<>();
    if (!pooling.equals(now.pooling)) {
      d.add("pooling " + pooling + " (now " + now.pooling + ")");
    }
    if (!tokenTypeIds.equals(now.tokenTypeIds)) {
      d.add("token types from the " + tokenTypeIds + " (now " + now.tokenTypeIds + ")");
    }
    if (!tokenizerSha256.equals(now.tokenizerSha256)) {
      d.add("another tokenizer file");
    }
    if (maxSequenceLength != now.maxSequenceLength) {
      d.add("max_sequence_length " + maxSequenceLength + " (now " + now.maxSequenceLength + ")");
    }
    if (!precision.equals(now.precision)) {
      d.add("precision " + precision + " (now " + now.precision + ")");
    }
    return d;
  }
}
