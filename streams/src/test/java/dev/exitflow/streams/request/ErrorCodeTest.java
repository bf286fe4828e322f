package dev.exitflow.streams.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.actors.Overloaded;
import dev.exitflow.actors.ShuttingDown;
import dev.exitflow.model.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The one table of error codes: unique, complete for the runtime's errors, and shown as it is in docs/api.md. */
class ErrorCodeTest {

  @Test
  void theDocsShowTheTableAsTheCodeHasIt() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "api.md"));
    String start = "<!-- error-codes: generated from ErrorCode.markdownTable() -->\n";
    int from = doc.indexOf(start);
    int to = doc.indexOf("<!-- /error-codes -->");
    assertTrue(from >= 0 && to > from, "docs/api.md has the error-code markers");
    assertEquals(ErrorCode.markdownTable(), doc.substring(from + start.length(), to),
        "docs/api.md's error table differs from ErrorCode.markdownTable(); paste the latter in");
  }

  @Test
  void codesAreUniqueAndTheRuntimesErrorsMapToThem() {
    Set<String> codes = new HashSet<>();
    for (ErrorCode c : ErrorCode.values()) {
      assertTrue(codes.add(c.code()), c.code());
      assertEquals(c, ErrorCode.fromCode(c.code()));
    }
    assertEquals(ErrorCode.OVERLOADED, ErrorCode.of(new Overloaded(1, 1, 1, 1, 1, Duration.ofMillis(5))));
    assertEquals(ErrorCode.SHUTTING_DOWN, ErrorCode.of(new ShuttingDown()));
    assertEquals(ErrorCode.UNKNOWN_EXIT, ErrorCode.of(InvalidInputException.unknownExit("3", "[2, 4, 6]")));
    assertEquals(ErrorCode.DIMENSIONS_OUT_OF_RANGE, ErrorCode.of(InvalidInputException.dimensionsOutOfRange(0, 384)));
    assertEquals(ErrorCode.EMPTY_INPUT, ErrorCode.of(InvalidInputException.emptyInput(0)));
    assertEquals(ErrorCode.INTERNAL_ERROR, ErrorCode.of(new IllegalStateException("bug")));
  }
}
