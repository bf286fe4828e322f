package dev.exitflow.model.plan;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.compile.Drop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How to run a model: where to cut it (exits), whether exit heads use their calibrated adapters,
 * how many tokens each stage boundary passes on (keep ratios, one per boundary between stages) and
 * which blocks the compiler drops, and what share of each layer's MLP neurons it keeps. Precision is the model's: the built-in int8 model is
 * {@code all-minilm-l6-v2-q}. Stored as a small JSON file:
 *
 * <pre>{"name": "fp32-keep50", "model": "all-minilm-l6-v2", "exits": [2, 4, 6], "adapters": true,
 *  "keep_ratios": [0.5, 1.0], "drops": [{"layer": 5, "block": "attention"}], "mlp_keep": [0.75]}</pre>
 *
 * {@code exits} null keeps the model's own; {@code adapters} defaults to true; an empty
 * {@code keep_ratios} keeps every token. {@code mlp_keep}: the share of intermediate MLP neurons
 * kept, one value for every layer or one per layer (the most active over a ranking corpus, see
 * {@code NeuronRanking}); empty or all 1 leaves the MLPs whole. {@code merge_pruned} (absent: false)
 * folds pruned tokens into kept ones instead of dropping them (see {@link #mergesPruned}); {@code prune_by}
 * (absent: {@code cls}) chooses which (see {@link #prunesByRedundancy}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Plan(String name, String model, List<Integer> exits, Boolean adapters, List<Double> keepRatios,
    List<Drop> drops, @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Double> mlpKeep, Boolean mergePruned, String pruneBy) {
  private static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  @JsonCreator
  public Plan {
    if (name == null || name.isBlank()) {
      throw new PlanFormatException("a plan needs a name");
    }
    if (model == null || model.isBlank()) {
      throw new PlanFormatException("plan '" + name + "' names no model");
    }
    exits = exits == null ? null : List.copyOf(exits);
    adapters = adapters == null || adapters;
    keepRatios = keepRatios == null ? List.of() : List.copyOf(keepRatios);
    drops = drops == null ? List.of() : sorted(drops);
    mlpKeep = mlpKeep == null ? List.of() : List.copyOf(mlpKeep);
    if (pruneBy != null && !pruneBy.equals("cls") && !pruneBy.equals("redundancy")) {
      throw new PlanFormatException("plan '" + name + "': prune_by is cls or redundancy, got " + pruneBy);
    }
    for (double k : mlpKeep) {
      if (!(k > 0 && k <= 1)) {
        throw new PlanFormatException("plan '" + name + "': mlp_keep values lie in (0, 1], got " + k);
      }
    }
    for (double k : keepRatios) {
      if (!(k > 0 && k <= 1)) {
        throw new PlanFormatException("plan '" + name + "': keep ratios lie in (0, 1], got " + k);
      }
    }
    if (exits != null && !keepRatios.isEmpty() && keepRatios.size() != exits.size() - 1) {
      throw new PlanFormatException("plan '" + name + "' has " + (exits.size() - 1)
          + " stage boundaries but " + keepRatios.size() + " keep ratios");
    }
  }

  /** A plan whose pruned tokens, if any, are dropped (not merged). */
  public Plan(String name, String model, List<Integer> exits, Boolean adapters, List<Double> keepRatios,
      List<Drop> drops, List<Double> mlpKeep) {
    this(name, model, exits, adapters, keepRatios, drops, mlpKeep, null, null);
  }

  /** A plan whose MLPs stay whole. */
  public Plan(String name, String model, List<Integer> exits, Boolean adapters, List<Double> keepRatios,
      List<Drop> drops) {
    this(name, model, exits, adapters, keepRatios, drops, List.of());
  }

  /**
   * Whether a boundary's pruned tokens are merged into their most similar kept token, and mean
   * pooling weighs tokens by how many they stand for (ToMe-style, see {@code TokenPruner}), instead
   * of dropped. Off unless {@code merge_pruned} is true; it changes no compiled stage.
   */
  public boolean mergesPruned() {
    return mergePruned != null && mergePruned;
  }

  /**
   * Whether a boundary prunes the most redundant tokens, ToMe's bipartite matching ({@code prune_by:
   * "redundancy"}, for keep ratios from 0.5), instead of those least similar to [CLS] ({@code "cls"},
   * the default).
   */
  public boolean prunesByRedundancy() {
    return "redundancy".equals(pruneBy);
  }

  /** The plan of a model as it comes: its own exits, adapters on, every token kept, nothing dropped. */
  public static Plan of(String model) {
    return new Plan(model, model, null, true, List.of(), List.of());
  }

  /** Whether exit heads apply the model's calibrated adapters (when it has some). */
  public boolean useAdapters() {
    return adapters;
  }

  private static List<Drop> sorted(List<Drop> drops) {
    List<Drop> s = new ArrayList<>(drops);
    s.sort((a, b) -> a.layer() != b.layer() ? Integer.compare(a.layer(), b.layer()) : a.block().compareTo(b.block()));
    return Collections.unmodifiableList(s);
  }

  /** The model with this plan's exits. */
  public ModelDescriptor apply(ModelDescriptor descriptor) {
    ModelDescriptor d = exits == null ? descriptor : descriptor.withExitLayers(exits);
    if (keepRatios.size() > 0 && keepRatios.size() != d.exitLayers().size() - 1) {
      throw new PlanFormatException("plan '" + name + "' has " + keepRatios.size() + " keep ratios but "
          + d.name() + " has " + (d.exitLayers().size() - 1) + " stage boundaries");
    }
    for (Drop drop : drops) {
      if (drop.layer() > d.deepLayer()) {
        throw new PlanFormatException("plan '" + name + "' drops from layer " + drop.layer() + " but "
            + d.name() + " has " + d.deepLayer());
      }
    }
    if (mlpKeep.size() > 1 && mlpKeep.size() != d.deepLayer()) {
      throw new PlanFormatException("plan '" + name + "' has " + mlpKeep.size() + " mlp_keep values but "
          + d.name() + " has " + d.deepLayer() + " layers (give one for all, or one per layer)");
    }
    return d;
  }

  /** Share of layer {@code layer}'s (counting from 1) intermediate MLP neurons the plan keeps. */
  public double mlpKeepOf(int layer) {
    return mlpKeep.isEmpty() ? 1.0 : mlpKeep.size() == 1 ? mlpKeep.get(0) : mlpKeep.get(layer - 1);
  }

  /** Whether the plan cuts any MLP neurons. */
  public boolean slicesMlp() {
    return mlpKeep.stream().anyMatch(k -> k < 1.0);
  }

  /**
   * Fraction of its tokens (beyond [CLS] and [SEP], which are always kept) that stage
   * {@code stage} (0-based) receives from the previous stage; 1 for the first stage.
   */
  public double keepRatioInto(int stage) {
    return stage == 0 || keepRatios.isEmpty() ? 1.0 : keepRatios.get(stage - 1);
  }

  public static Plan read(Path file) {
    try {
      return JSON.readValue(file.toFile(), Plan.class);
    } catch (ValueInstantiationException e) { // the constructor's own check failed
      throw new PlanFormatException(file + ": " + e.getCause().getMessage(), e);
    } catch (IOException e) {
      String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.toString();
      throw new PlanFormatException("cannot read plan " + file + ": " + why, e);
    }
  }

  public void write(Path file) {
    try {
      JSON.writeValue(file.toFile(), this);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write plan " + file, e);
    }
  }
}
