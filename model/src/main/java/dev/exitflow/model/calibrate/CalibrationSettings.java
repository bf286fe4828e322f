package dev.exitflow.model.calibrate;

import com.typesafe.config.Config;
import java.util.List;

/**
 * How adapters are fitted ({@code exitflow.model.adapters} in reference.conf): whether a served
 * model without them is calibrated before it serves, on which corpus, and which models' adapters
 * read only content means and [SEP] states.
 */
public record CalibrationSettings(boolean calibrateOnStart, String corpus, List<String> meansAndSepModels) {
  public static CalibrationSettings create(Config config) {
    Config c = config.getConfig("exitflow.model.adapters");
    return new CalibrationSettings(c.getBoolean("calibrate-on-start"), c.getString("corpus"),
        List.copyOf(c.getStringList("means-and-sep")));
  }

  public boolean meansAndSep(String model) {
    return meansAndSepModels.contains(model);
  }
}
