package dev.exitflow.model.adapter;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * How a set of adapters was fitted ({@code fit.json} beside them): the corpus (its name and the
 * SHA-256 of its sentences), the ridge penalty and the features read. The server compares it with
 * its configuration and refits on a difference instead of serving adapters fitted otherwise.
 * {@code speed}, when calibrate measured it, holds per shallow exit its sentences/s with the
 * adapter and the next exit's (see {@link ExitSpeed}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AdapterFit(
    String corpus,
    @JsonProperty("corpus_sha256") String corpusSha256,
    int sentences,
    double penalty,
    @JsonProperty("means_and_sep") boolean meansAndSep,
    Map<Integer, ExitSpeed> speed) {

  /**
   * An exit's measured speed with its adapter against the next exit's (with its adapter, if any):
   * an exit that is not faster than the next one buys nothing for the quality it gives up.
   */
  public record ExitSpeed(@JsonProperty("sentences_per_second") double sentencesPerSecond,
      @JsonProperty("next_exit_sentences_per_second") double nextExitSentencesPerSecond) {
    public boolean fasterThanNext() {
      return sentencesPerSecond > nextExitSentencesPerSecond;
    }
  }

  /** The fit of {@code sentences}, named {@code corpus}, with these settings (speed not measured). */
  public static AdapterFit of(String corpus, List<String> sentences, double penalty, boolean meansAndSep) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String s : sentences) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
      }
      return new AdapterFit(corpus, HexFormat.of().formatHex(sha.digest()), sentences.size(), penalty, meansAndSep,
          null);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public AdapterFit withSpeed(Map<Integer, ExitSpeed> measured) {
    return new AdapterFit(corpus, corpusSha256, sentences, penalty, meansAndSep, measured);
  }

  /** Whether the exit's adapter was measured not to be faster than the next exit. */
  public boolean notFaster(int exitLayer) {
    ExitSpeed s = speed == null ? null : speed.get(exitLayer);
    return s != null && !s.fasterThanNext();
  }

  /** What differs from the {@code wanted} settings (speed aside), for a message; empty when they agree. */
  public List<String> differences(AdapterFit wanted) {
    List<String> d = new ArrayList<>();
    if (!corpusSha256.equals(wanted.corpusSha256)) {
      d.add("corpus " + corpus + " (now " + wanted.corpus + ")");
    }
    if (Double.compare(penalty, wanted.penalty) != 0) {
      d.add("penalty " + penalty + " (now " + wanted.penalty + ")");
    }
    if (meansAndSep != wanted.meansAndSep) {
      d.add("means-and-sep " + meansAndSep + " (now " + wanted.meansAndSep + ")");
    }
    return d;
  }
}
