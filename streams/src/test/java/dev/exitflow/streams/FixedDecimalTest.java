package dev.exitflow.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FixedDecimal writes a parseable JSON number: the value rounded half up to the given decimals, exactly. */
class FixedDecimalTest {
  private static final JsonFactory JSON = new JsonFactory();
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void writesTheRoundedValueWithExactlyTheDecimals() throws IOException {
    assertEquals("0.000", FixedDecimal.toString(0, 3));
    assertEquals("12.346", FixedDecimal.toString(12.3456, 3));
    assertEquals("12.300", FixedDecimal.toString(12.3, 3));
    assertEquals("-0.50", FixedDecimal.toString(-0.5, 2));
    assertEquals("1.00", FixedDecimal.toString(0.999, 2));
    assertEquals("7", FixedDecimal.toString(7.4, 0));
    assertEquals("123456789.123456", FixedDecimal.toString(123456789.123456, 6));
    Random random = new Random(21);
    for (int i = 0; i < 100_000; i++) {
      int decimals = random.nextInt(7);
      double v = (random.nextDouble() - 0.2) * Math.pow(10, random.nextInt(9));
      String text = written(v, decimals);
      assertTrue(text.matches("-?\\d+" + (decimals == 0 ? "" : "\\.\\d{" + decimals + "}")), text);
      long scaled = Math.round(v * Math.pow(10, decimals));
      assertEquals(BigDecimal.valueOf(scaled, decimals), new BigDecimal(text), v + " to " + decimals);
      JsonNode parsed = MAPPER.readTree("{\"x\":" + text + "}").get("x");
      assertTrue(parsed.isNumber(), text);
      assertEquals(scaled / Math.pow(10, decimals), parsed.asDouble(), 1e-9 * Math.max(1, Math.abs(v)), text);
    }
  }

  @Test
  void whatItCannotScaleIsWrittenAsWriteNumberWritesIt() throws IOException {
    assertEquals("1.0E12", written(1e12, 3));
    assertEquals("\"NaN\"", written(Double.NaN, 3)); // Jackson quotes non-finite numbers by default
    assertThrows(IllegalArgumentException.class, () -> FixedDecimal.toString(1, 7));
  }

  private static String written(double v, int decimals) throws IOException {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      FixedDecimal.write(g, v, decimals);
    }
    return out.toString();
  }
}
