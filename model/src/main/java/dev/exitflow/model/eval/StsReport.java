package dev.exitflow.model.eval;

import java.util.List;

/** Quality and speed of every exit on an STS dataset; spearman is a fraction (0.82, not 82). */
public record StsReport(String model, String dataset, int pairs, List<Exit> exits) {
  public record Exit(int layer, double spearman, double sentencesPerS, double meanTokens) {}
}
