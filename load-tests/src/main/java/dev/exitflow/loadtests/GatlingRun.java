package dev.exitflow.loadtests;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a Gatling simulation in this JVM and reads its global figures. Gatling 3.15 keeps its
 * statistics in a binary log and an HTML report; the console summary it prints at the end is the
 * one stable text form, so it is captured (and still shown) and parsed.
 */
final class GatlingRun {
  record Summary(long requests, long errors, double rps, double p50Ms, double p99Ms) {}

  private GatlingRun() {}

  /**
   * Runs the simulation. {@code answered} names the request whose count is the throughput: for
   * HTTP every request is answered; over the WebSocket Gatling reports the send ({@code frame}) and
   * the awaited reply ({@code result}) as two requests, and only replies count.
   */
  static Summary run(Class<?> simulation, String url, int users, int seconds, Path results, String answered)
      throws Exception {
    System.setProperty("exitflow.url", url);
    System.setProperty("exitflow.users", String.valueOf(users));
    System.setProperty("exitflow.seconds", String.valueOf(seconds));
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(new Tee(original, captured), true));
    try {
      io.gatling.app.Gatling$.MODULE$.fromArgs(new String[] {"-s", simulation.getName(), "-rf", results.toString()});
    } finally {
      System.setOut(original);
    }
    return parse(captured.toString(), answered, seconds);
  }

  static Summary parse(String console, String answered, int seconds) {
    int global = console.lastIndexOf("Global Information");
    String block = global < 0 ? console : console.substring(global);
    double rps = number(block, "mean throughput \\(rps\\)\\s*\\|\\s*([\\d,.]+)");
    long requests = (long) number(block, "request count\\s*\\|\\s*([\\d,]+)");
    if (answered != null) {
      // The last progress block lists each request name with its total: "> result | 12,345 | ...".
      String before = global < 0 ? console : console.substring(0, global);
      Matcher m = Pattern.compile("> " + Pattern.quote(answered) + "\\s+\\|\\s*([\\d,]+)").matcher(before);
      while (m.find()) {
        requests = Long.parseLong(m.group(1).replace(",", ""));
      }
      rps = (double) requests / seconds;
    }
    return new Summary(
        requests,
        (long) number(block, "request count\\s*\\|\\s*[\\d,]+\\s*\\|\\s*[\\d,]+\\s*\\|\\s*([\\d,-]+)"),
        rps,
        number(block, "50th percentile \\(ms\\)\\s*\\|\\s*([\\d,]+)"),
        number(block, "99th percentile \\(ms\\)\\s*\\|\\s*([\\d,]+)"));
  }

  private static double number(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    if (!m.find()) {
      return Double.NaN;
    }
    String v = m.group(1).replace(",", "");
    return v.equals("-") ? 0 : Double.parseDouble(v);
  }

  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }
}
