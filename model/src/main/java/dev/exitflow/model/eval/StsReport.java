package dev.exitflow.model.eval;

import dev.exitflow.model.adapter.ExitAdapter;
import java.util.List;

/**
 * Quality and speed of every exit on an STS dataset; spearman is a fraction (0.82, not 82).
 * {@code adapter} is the exit's calibrated adapter, null when the exit pools plainly.
 */
public record StsReport(String model, String dataset, int pairs, List<Exit> exits) {
  public record Exit(int layer, double spearman, double sentencesPerS, double meanTokens, ExitAdapter.Summary adapter) {}
}
