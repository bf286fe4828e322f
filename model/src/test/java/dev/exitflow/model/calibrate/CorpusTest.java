package dev.exitflow.model.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.exitflow.model.adapter.AdapterFit;
import dev.exitflow.model.eval.StsDataset;
import dev.exitflow.model.eval.StsFiles;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The calibration corpora that ship in data/: the English Europarl sentences load from the
 * classpath, are what data/europarl/README.md says, and joined with STS-B's training sentences form
 * the mixed corpus, whose adapters are told apart from STS-B-only ones.
 */
class CorpusTest {
  /** data/europarl/README.md: the sentences MakeEuroparlCorpus.java writes. */
  static final int EUROPARL_SENTENCES = 2000;
  static final int STS_TRAIN_SENTENCES = 10566;

  @Test
  void theEuroparlSentencesShipAndAreEnglishSentences() {
    List<String> europarl = Corpus.named("europarl-en.txt");
    assertEquals(EUROPARL_SENTENCES, europarl.size());
    Set<String> english = Set.of("the", "of", "and", "to", "that", "which", "this", "for", "with", "have", "are", "be",
        "it", "not", "on", "by", "will", "would", "should", "from", "has", "been", "there");
    Pattern word = Pattern.compile("\\p{L}+");
    long hits = 0;
    long words = 0;
    for (String s : europarl) {
      int n = s.split(" ").length;
      assertTrue(n >= 5 && n <= 40, "5 to 40 words: " + s);
      assertTrue(s.matches("[\\p{Lu}\\d\"'(\u2018\u201c].*[.!?]"), "a whole sentence: " + s);
      Matcher m = word.matcher(s.toLowerCase(Locale.ROOT));
      while (m.find()) {
        words++;
        hits += english.contains(m.group()) ? 1 : 0;
      }
    }
    assertTrue(hits > 0.25 * words, "English function words are " + hits + " of " + words + " words");
  }

  @Test
  void theMixedCorpusIsBothFilesInOrderEachSentenceOnce() {
    List<String> sts = Corpus.named("sts-train.csv");
    assertEquals(STS_TRAIN_SENTENCES, sts.size());
    assertEquals(sts, Corpus.read(StsFiles.locate("sts-train.csv")));
    List<String> mixed = Corpus.named("sts-train.csv+europarl-en.txt");
    assertEquals(STS_TRAIN_SENTENCES + EUROPARL_SENTENCES, mixed.size(), "no sentence of one is in the other");
    assertEquals(sts, mixed.subList(0, sts.size()));
    assertEquals(mixed.size(), new HashSet<>(mixed).size());
    assertEquals(2, Corpus.files("sts-train.csv + europarl-en.txt").size());
    assertThrows(IllegalArgumentException.class, () -> Corpus.named("sts-train.csv+"));
    assertThrows(IllegalArgumentException.class, () -> Corpus.named("sts-train.csv+nope.txt"));
  }

  @Test
  void noEuroparlSentenceIsInTheMeasuredSplits() throws Exception {
    Set<String> europarl = new HashSet<>(Corpus.named("europarl-en.txt"));
    for (String split : List.of("sts-dev.csv", "sts-test.csv")) {
      for (String s : StsDataset.read(StsFiles.locate(split)).sentences().keySet()) {
        assertTrue(!europarl.contains(s), split + " sentence in europarl-en.txt: " + s);
      }
    }
  }

  @Test
  void adaptersFittedOnTheMixAreToldApartFromStsBOnes() {
    List<String> mixed = Corpus.named("sts-train.csv+europarl-en.txt");
    AdapterFit stsOnly = AdapterFit.of("sts-train.csv", Corpus.named("sts-train.csv"), 0.01, false);
    AdapterFit mix = AdapterFit.of("sts-train.csv+europarl-en.txt", mixed, 0.01, false);
    assertNotEquals(stsOnly.corpusSha256(), mix.corpusSha256());
    assertEquals(List.of("corpus sts-train.csv (now sts-train.csv+europarl-en.txt)"), stsOnly.differences(mix));
    assertEquals(List.of(), mix.differences(AdapterFit.of("sts-train.csv+europarl-en.txt", mixed, 0.01, false)));
  }

  @Test
  void theConfiguredDefaultCorpusLoads() {
    String configured = CalibrationSettings.create(ConfigFactory.load()).corpus();
    assertTrue(Corpus.named(configured).size() >= STS_TRAIN_SENTENCES, configured);
  }
}
