package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exitflow.model.InvalidInputException;
import dev.exitflow.model.TestModels;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StagedEncoderTest {
  private static StagedEncoder engine;

  @BeforeAll
  static void open() throws Exception {
    engine = StagedEncoder.open(TestModels.builtin("all-minilm-l6-v2"), TestModels.settings());
  }

  @AfterAll
  static void close() throws Exception {
    engine.close();
  }

  @Test
  void namedExitsMapToTheFirstAndLastExitLayers() throws Exception {
    assertEquals(2, engine.embed(List.of("a cat"), "shallow", null).get(0).exitLayer());
    assertEquals(4, engine.embed(List.of("a cat"), "4", null).get(0).exitLayer());
    assertEquals(6, engine.embed(List.of("a cat"), "deep", null).get(0).exitLayer());
  }

  @Test
  void shallowAndDeepExitsDiffer() throws Exception {
    float[] shallow = engine.embed(List.of("A man is playing a guitar."), "shallow", null).get(0).vector();
    float[] deep = engine.embed(List.of("A man is playing a guitar."), "deep", null).get(0).vector();
    assertTrue(Vectors.cosine(shallow, deep) < 0.99);
  }

  @Test
  void resultsKeepInputOrderWhateverTheLengths() throws Exception {
    List<String> texts = List.of(
        "A much longer sentence about a man who is slicing a large tomato in the kitchen.",
        "Hi.",
        "A woman is dancing.");
    List<Embedding> together = engine.embed(texts, "deep", null);
    for (int i = 0; i < texts.size(); i++) {
      Embedding alone = engine.embed(List.of(texts.get(i)), "deep", null).get(0);
      assertEquals(alone.tokens(), together.get(i).tokens());
      assertTrue(Vectors.cosine(alone.vector(), together.get(i).vector()) > 0.99999);
    }
  }

  @Test
  void embeddingsAreUnitLength() throws Exception {
    Embedding e = engine.embed(List.of("The sky is blue."), "deep", null).get(0);
    assertEquals(384, e.vector().length);
    assertEquals(1.0, norm(e.vector()), 1e-5);
    assertEquals(7, e.tokens()); // [CLS] the sky is blue . [SEP]
    assertFalse(e.truncated());
  }

  @Test
  void matryoshkaTruncationKeepsThePrefixRenormalised() throws Exception {
    float[] full = engine.embed(List.of("A dog runs in the park."), "deep", null).get(0).vector();
    float[] cut = engine.embed(List.of("A dog runs in the park."), "deep", 64).get(0).vector();
    assertEquals(64, cut.length);
    assertEquals(1.0, norm(cut), 1e-5);
    float[] expected = new float[64];
    System.arraycopy(full, 0, expected, 0, 64);
    assertArrayEquals(ExitHead.normalize(expected), cut, 1e-6f);
  }

  @Test
  void textLongerThanTheModelMaximumIsTruncatedAndSaysSo() throws Exception {
    String longText = "word ".repeat(1000);
    Embedding e = engine.embed(List.of(longText), "shallow", null).get(0);
    assertTrue(e.truncated());
    assertEquals(256, e.tokens());
  }

  @Test
  void emptyOrBlankTextIsRefusedWithItsIndex() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> engine.embed(List.of("fine", " \t\n "), "deep", null));
    assertEquals("empty_input", e.code());
    assertTrue(e.getMessage().contains("input 1"), e.getMessage());
    assertThrows(InvalidInputException.class, () -> engine.embed(List.of(""), "deep", null));
  }

  @Test
  void unknownExitIsRefusedNamingTheValidOnes() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> engine.embed(List.of("text"), "5", null));
    assertEquals("unknown_exit", e.code());
    assertTrue(e.getMessage().contains("[2, 4, 6, shallow, deep]"), e.getMessage());
    assertThrows(InvalidInputException.class, () -> engine.embed(List.of("text"), "medium", null));
  }

  @Test
  void dimensionsOutOfRangeAreRefused() {
    for (int bad : new int[] {0, -3, 385}) {
      InvalidInputException e = assertThrows(InvalidInputException.class,
          () -> engine.embed(List.of("text"), "deep", bad));
      assertEquals("dimensions_out_of_range", e.code());
    }
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += x * x;
    }
    return Math.sqrt(s);
  }
}
