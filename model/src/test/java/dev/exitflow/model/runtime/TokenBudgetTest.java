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

  @Test
  void aCandidateThatWouldMakeTheBatchMostlyPaddingIsPassedOver() {
    // Seed 10, then by closeness 11, 9 (3 padding of 33), 12 (6 of 48, 12.5%); 15 would make it
    // 18 of 75 (24%), over 20%.
    List<Integer> batch = TokenBudget.fill(10, List.of(11, 9, 15, 12), Integer::intValue, 32, 10_000, 0.2);
    assertEquals(List.of(10, 11, 9, 12), batch);
    assertEquals(List.of(10, 11, 9, 12, 15), TokenBudget.fill(10, List.of(11, 9, 15, 12), Integer::intValue, 32, 10_000));
  }

  @Test
  void theSeedGoesAloneWhenEveryCompanionWouldPadIt() {
    assertEquals(List.of(100), TokenBudget.fill(100, List.of(10, 20, 30), Integer::intValue, 32, 10_000, 0.2));
  }
}
