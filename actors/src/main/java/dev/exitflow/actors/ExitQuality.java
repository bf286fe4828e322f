package dev.exitflow.actors;

import dev.exitflow.model.adapter.ExitAdapter;
import dev.exitflow.model.runtime.ExitHead;
import java.util.Map;

/**
 * What is known of an exit's quality: its adapter or distilled branch, its fidelity, the held-out mean cosine between its
 * embedding and the deep one that calibration measured (1 at the deep exit, whose embedding is
 * the deep one; NaN for an exit with neither adapter nor distilled branch, or whose record predates
 * fidelity),
 * and the STS Spearman x100 {@code eval} recorded per dataset (empty when it never ran).
 */
public record ExitQuality(int layer, boolean deep, ExitAdapter.Summary adapter, boolean branch, double fidelity,
    Map<String, Double> spearman) {
  static double fidelity(ExitHead head, boolean deep) {
    if (deep) {
      return 1.0;
    }
    return head.fidelity();
  }
}
