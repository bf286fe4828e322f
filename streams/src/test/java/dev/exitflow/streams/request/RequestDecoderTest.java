package dev.exitflow.streams.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.actors.Priority;
import dev.exitflow.model.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import dev.exitflow.model.tokenize.TextWindows;
import org.junit.jupiter.api.Test;

/** The decoder alone, with a stand-in for the model's checks (exits 2, 4, 6; 384 dimensions). */
class RequestDecoderTest {
  private final RequestDecoder decoder = new RequestDecoder(new RequestLimits(3, 20, 30, 32), "m", r -> {
    if (r.exit() instanceof ExitPolicy.Exact e && !List.of(2, 4, 6).contains(e.layer())) {
      throw InvalidInputException.unknownExit(String.valueOf(e.layer()), "[2, 4, 6]");
    }
    if (r.dimensions() != null && r.dimensions() > 384) {
      throw InvalidInputException.dimensionsOutOfRange(r.dimensions(), 384);
    }
    }, RequestDecoderTest::windowsOfFive);

  /** A stand-in tokenizer: a token per character, windows of five characters. */
  private static TextWindows windowsOfFive(String text) {
    List<String> windows = new java.util.ArrayList<>();
    for (int i = 0; i < text.length(); i += 5) {
      windows.add(text.substring(i, Math.min(text.length(), i + 5)));
    }
    return new TextWindows(windows, text.length());
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private ErrorCode code(Runnable r) {
    return assertThrows(InvalidRequest.class, r::run).errorCode();
  }

  @Test
  void aBodyWithEveryField() {
    DecodedRequest r = decoder.body(utf8("{\"input\": [\"a\", \"b\"], \"model\": \"m\", \"exit\": 4, \"deadline_ms\": 50,"
        + " \"dimensions\": 8, \"priority\": \"bulk\", \"encoding_format\": \"base64\", \"user\": \"u\", \"id\": 12}"),
        RequestDefaults.INTERACTIVE);
    assertEquals(List.of("a", "b"), r.inputs());
    assertEquals(new ExitPolicy.Exact(4), r.exit());
    assertEquals(50L, r.deadlineMs());
    assertEquals(8, r.dimensions());
    assertEquals(Priority.BULK, r.priority());
    assertTrue(r.base64());
    assertEquals(12, r.id().asInt());
    assertEquals(2, r.requests().size());
  }

  @Test
  void nullsAreAbsentAndDefaultsApply() {
    DecodedRequest r = decoder.frame("{\"input\": \"a\", \"exit\": null, \"dimensions\": null, \"id\": null}",
        new RequestDefaults(ExitPolicy.Auto.INSTANCE, Priority.BULK, 16, 500L));
    assertEquals(ExitPolicy.Auto.INSTANCE, r.exit());
    assertEquals(16, r.dimensions());
    assertEquals(500L, r.deadlineMs());
    assertNull(r.id());
    assertFalse(r.upgrade());
  }

  @Test
  void linesArePlainTextUnlessTheyAreJsonObjects() {
    assertEquals(List.of("just words"), decoder.line(utf8("  just words \r"), RequestDefaults.BULK).inputs());
    assertEquals(ErrorCode.INVALID_JSON, code(() -> decoder.line(utf8("{oops"), RequestDefaults.BULK)));
    assertEquals(ErrorCode.BAD_UTF8, code(() -> decoder.line(new byte[] {'a', (byte) 0xff}, RequestDefaults.BULK)));
    assertEquals(ErrorCode.INPUT_TOO_LONG, code(() -> decoder.text(utf8("x".repeat(21)), RequestDefaults.BULK)));
  }

  @Test
  void limitsAndUnicode() {
    assertEquals(ErrorCode.TOO_MANY_INPUTS, code(() -> decoder.body(utf8("{\"input\": [\"a\", \"b\", \"c\", \"d\"]}"),
        RequestDefaults.INTERACTIVE)));
    assertEquals(ErrorCode.INVALID_TYPE, code(() -> decoder.frame("{\"input\": [\"a\"]}", RequestDefaults.INTERACTIVE)));
    assertEquals(ErrorCode.BAD_UTF8, code(() -> decoder.frame("{\"input\": \"\\udc00\"}", RequestDefaults.INTERACTIVE)));
    assertEquals(List.of("\uD83D\uDE00"), decoder.frame("{\"input\": \"\\ud83d\\ude00\"}", RequestDefaults.INTERACTIVE).inputs());
    assertEquals(ErrorCode.UNKNOWN_EXIT, code(() -> decoder.frame("{\"input\": \"a\", \"exit\": 99999999999}",
        RequestDefaults.INTERACTIVE)));
  }

  /** ASCII bytes are parsed as they are, others decoded strictly first: both read the same and refuse the same. */
  @Test
  void bodiesReadTheSameWhetherAsciiOrNot() {
    assertEquals(List.of("caf\u00e9", "\uD83D\uDE00"), decoder.body(utf8("{\"input\": [\"caf\\u00e9\", \"\\ud83d\\ude00\"]}"),
        RequestDefaults.INTERACTIVE).inputs());
    assertEquals(List.of("caf\u00e9", "\uD83D\uDE00"), decoder.body(utf8("{\"input\": [\"caf\u00e9\", \"\uD83D\uDE00\"]}"),
        RequestDefaults.INTERACTIVE).inputs());
    assertEquals(List.of("a"), decoder.frame(utf8("{\"input\": \"a\"}"), RequestDefaults.INTERACTIVE).inputs());
    assertEquals(ErrorCode.BAD_UTF8, code(() -> decoder.body(new byte[] {'{', '"', (byte) 0xff, '"', '}'},
        RequestDefaults.INTERACTIVE)));
    assertEquals(ErrorCode.BAD_UTF8, code(() -> decoder.frame(new byte[] {'{', '"', (byte) 0xed, (byte) 0xa0,
        (byte) 0x80, '"', '}'}, RequestDefaults.INTERACTIVE)), "an encoded surrogate is not UTF-8");
    for (String bad : List.of("{\"input\": \"a\", \"input\": \"b\"}", "{\"input\": \"a\"} {}", "{\"input\": \"a\"",
        "", "[\"a\"]")) {
      assertEquals(ErrorCode.INVALID_JSON, code(() -> decoder.body(utf8(bad), RequestDefaults.INTERACTIVE)), bad);
      assertEquals(ErrorCode.INVALID_JSON, code(() -> decoder.frame(utf8(bad), RequestDefaults.INTERACTIVE)), bad);
    }
    assertEquals(ErrorCode.INVALID_JSON, code(() -> decoder.body(new byte[] {0, 0, 0, '{', 0, 0, 0, '}'},
        RequestDefaults.INTERACTIVE)), "NUL bytes are not taken for UTF-32");
  }

  @Test
  void errorsKeepAValidIdAndNameTheField() {
    InvalidRequest e = assertThrows(InvalidRequest.class, () ->
        decoder.frame("{\"id\": \"r1\", \"input\": \"a\", \"dimensions\": 999}", RequestDefaults.INTERACTIVE));
    assertEquals(ErrorCode.DIMENSIONS_OUT_OF_RANGE, e.errorCode());
    assertEquals("dimensions", e.param());
    assertEquals("r1", e.id().asText());
  }

  @Test
  void minFidelityIsANumberFromZeroToOneOnEveryTransport() {
    DecodedRequest body = decoder.body(utf8("{\"input\": [\"a\", \"b\"], \"exit\": \"auto\", \"min_fidelity\": 0.9}"),
        RequestDefaults.INTERACTIVE);
    assertEquals(0.9, body.minFidelity());
    assertTrue(body.requests().stream().allMatch(r -> r.minFidelity() == 0.9));
    assertEquals(1.0, decoder.frame("{\"input\": \"a\", \"min_fidelity\": 1}", RequestDefaults.INTERACTIVE)
        .request().minFidelity(), "an integer is a number too");
    assertNull(decoder.frame("{\"input\": \"a\", \"min_fidelity\": null}", RequestDefaults.INTERACTIVE).minFidelity());
    InvalidRequest range = assertThrows(InvalidRequest.class,
        () -> decoder.frame("{\"input\": \"a\", \"min_fidelity\": 1.5, \"id\": 3}", RequestDefaults.INTERACTIVE));
    assertEquals(ErrorCode.FIDELITY_OUT_OF_RANGE, range.errorCode());
    assertEquals("min_fidelity", range.param());
    assertEquals(3, range.id().asInt());
    assertEquals(ErrorCode.FIDELITY_OUT_OF_RANGE,
        code(() -> decoder.frame("{\"input\": \"a\", \"min_fidelity\": -0.1}", RequestDefaults.INTERACTIVE)));
    assertEquals(ErrorCode.INVALID_TYPE,
        code(() -> decoder.frame("{\"input\": \"a\", \"min_fidelity\": \"0.9\"}", RequestDefaults.INTERACTIVE)));
    RequestDefaults q = decoder.query(Map.of("exit", "auto", "min_fidelity", "0.8"), RequestDefaults.BULK);
    assertEquals(0.8, q.minFidelity());
    assertEquals(0.8, decoder.line(utf8("plain text"), q).request().minFidelity(), "bulk lines take the query's floor");
    assertEquals(ErrorCode.INVALID_TYPE, code(() -> decoder.query(Map.of("min_fidelity", "high"), RequestDefaults.BULK)));
    assertEquals(ErrorCode.FIDELITY_OUT_OF_RANGE,
        code(() -> decoder.query(Map.of("min_fidelity", "2"), RequestDefaults.BULK)));
  }

  @Test
  void theBulkQueryIsReadAsStrictly() {
    RequestDefaults d = decoder.query(Map.of("exit", "shallow", "dimensions", "8", "priority", "interactive",
        "deadline_ms", "100", "model", "m"), RequestDefaults.BULK);
    assertEquals(new RequestDefaults(ExitPolicy.Shallow.INSTANCE, Priority.INTERACTIVE, 8, 100L), d);
    assertEquals(ErrorCode.INVALID_TYPE, code(() -> decoder.query(Map.of("dimensions", "x"), RequestDefaults.BULK)));
    assertEquals(ErrorCode.INVALID_TYPE, code(() -> decoder.query(Map.of("dimensions", " 8"), RequestDefaults.BULK)));
    assertEquals(ErrorCode.UNKNOWN_MODEL, code(() -> decoder.query(Map.of("model", "nope"), RequestDefaults.BULK)));
    assertEquals(ErrorCode.UNKNOWN_PRIORITY, code(() -> decoder.query(Map.of("priority", "x"), RequestDefaults.BULK)));
    assertEquals(RequestDefaults.BULK, decoder.query(Map.of("unrelated", "1"), RequestDefaults.BULK));
  }

  @Test
  void longTextIsTruncateOrChunkAndChunkModeCountsTokensAgainstTheLimit() {
    assertNull(decoder.frame(utf8("{\"input\": \"twelve chars\"}"), RequestDefaults.INTERACTIVE).windows());
    assertNull(decoder.frame(utf8("{\"input\": \"twelve chars\", \"long_text\": \"truncate\"}"),
        RequestDefaults.INTERACTIVE).windows());
    DecodedRequest chunked = decoder.body(utf8("{\"input\": [\"ten chars!\", \"abc\"], \"long_text\": \"chunk\"}"),
        RequestDefaults.INTERACTIVE);
    assertEquals(List.of(List.of("ten c", "hars!"), List.of("abc")),
        chunked.windows().stream().map(TextWindows::texts).toList());
    // Windows are admitted together, as inputs are: no more of them than max-inputs (3).
    InvalidRequest windows = assertThrows(InvalidRequest.class, () -> decoder.body(utf8(
        "{\"input\": [\"twelve chars\", \"abc\"], \"long_text\": \"chunk\"}"), RequestDefaults.INTERACTIVE));
    assertEquals(ErrorCode.INPUT_TOO_LARGE, windows.errorCode());
    assertTrue(windows.getMessage().contains("4 windows"), windows.getMessage());
    InvalidRequest mode = assertThrows(InvalidRequest.class, () -> decoder.frame(
        utf8("{\"id\": 7, \"input\": \"x\", \"long_text\": \"split\"}"), RequestDefaults.INTERACTIVE));
    assertEquals(ErrorCode.UNKNOWN_LONG_TEXT, mode.errorCode());
    assertEquals(422, mode.errorCode().status());
    assertEquals("long_text", mode.param());
    assertEquals(7, mode.id().intValue());
    // 3 x 12 = 36 tokens in all, over the 30 allowed; each alone would pass.
    InvalidRequest large = assertThrows(InvalidRequest.class, () -> decoder.body(utf8(
        "{\"input\": [\"twelve chars\", \"twelve chars\", \"twelve chars\"], \"long_text\": \"chunk\"}"),
        RequestDefaults.INTERACTIVE));
    assertEquals(ErrorCode.INPUT_TOO_LARGE, large.errorCode());
    assertEquals(413, large.errorCode().status());
    assertTrue(large.getMessage().contains("max-tokens-per-request"), large.getMessage());
    // The same inputs truncated are not counted.
    assertEquals(3, decoder.body(utf8("{\"input\": [\"twelve chars\", \"twelve chars\", \"twelve chars\"]}"),
        RequestDefaults.INTERACTIVE).requests().size());
    // The bulk query sets it for lines that do not say; a plain-text line follows it too.
    RequestDefaults chunk = decoder.query(java.util.Map.of("long_text", "chunk"), RequestDefaults.BULK);
    assertEquals(LongText.CHUNK, chunk.longText());
    assertEquals(3, decoder.line(utf8("twelve chars"), chunk).window().count());
    assertNull(decoder.line(utf8("{\"input\": \"twelve chars\", \"long_text\": \"truncate\"}"), chunk).windows());
  }
}
