package dev.exitflow.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class TokenBudgetTest {
  private static List<List<Integer>> ranges(int[] lengths, int maxTexts, int maxTokens) {
    return TokenBudget.ranges(lengths, maxTexts, maxTokens).stream().map(r -> List.of(r[0], r[1])).toList();
  }

  @Test
  void shortTextsFillTheBatchSizeLongOnesTheTokenBudget() {
    int[] lengths = {10, 10, 12, 12, 100, 100, 100, 200, 200};
    // 3 texts at most; then 12, 100, 100 padded to 100 = 300 fits; 100 and 200 padded to 200 = 400 does not
    assertEquals(List.of(List.of(0, 3), List.of(3, 6), List.of(6, 7), List.of(7, 8), List.of(8, 9)),
        ranges(lengths, 3, 300));
  }

  @Test
  void aTextLongerThanTheBudgetGoesAlone() {
    assertEquals(List.of(List.of(0, 1), List.of(1, 2)), ranges(new int[] {500, 600}, 32, 256));
  }

  @Test
  void aBudgetOfAFullBatchOfTheLongestChangesNothing() {
    int[] lengths = new int[70];
    java.util.Arrays.setAll(lengths, i -> 5 + i);
    assertEquals(List.of(List.of(0, 32), List.of(32, 64), List.of(64, 70)), ranges(lengths, 32, 32 * 74));
  }
}
