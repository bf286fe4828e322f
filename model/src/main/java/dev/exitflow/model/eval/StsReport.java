package dev.exitflow.model.eval;

import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.plan.Plan;
import java.util.List;

/**
 * Quality and speed of every exit on an STS dataset, run as {@code plan} says; spearman is a
 * fraction (0.82, not 82). Per exit, {@code meanTokens} is the texts' own length and
 * {@code meanTokensAtExit} what the exit's stage ran on after pruning; {@code adapter} is the
 * exit's calibrated adapter, null when the exit pools plainly.
 */
public record StsReport(String model, String precision, String dataset, int pairs, Plan plan, List<Exit> exits) {
  public record Exit(int layer, double spearman, double sentencesPerS, double meanTokens, double meanTokensAtExit,
      ExitAdapter.Summary adapter) {}
}
