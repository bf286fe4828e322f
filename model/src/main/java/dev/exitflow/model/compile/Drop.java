package dev.exitflow.model.compile;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * A block the stage compiler leaves out of encoder layer {@code layer} (counting from 1). BERT is
 * post-LayerNorm: each block computes {@code LayerNorm(x + f(x))}, so dropping it hands {@code x}
 * on unchanged. {@link Block#LAYER} drops both blocks of the layer.
 */
public record Drop(int layer, Block block) {
  /** Which part of a layer to drop. */
  public enum Block {
    ATTENTION, MLP, LAYER;

    @JsonValue
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Block parse(String s) {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    }

    boolean covers(Block sublayer) {
      return this == LAYER || this == sublayer;
    }
  }

  public Drop {
    if (layer < 1) {
      throw new IllegalArgumentException("a dropped layer counts from 1, got " + layer);
    }
    if (block == null) {
      throw new IllegalArgumentException("a drop names its block: attention, mlp or layer");
    }
  }

  /** Short form for cache keys and tables: {@code 5a} (attention), {@code 5m} (MLP), {@code 5} (whole layer). */
  public String label() {
    return layer + switch (block) {
      case ATTENTION -> "a";
      case MLP -> "m";
      case LAYER -> "";
    };
  }

  public boolean dropsAttention() {
    return block.covers(Block.ATTENTION);
  }

  public boolean dropsMlp() {
    return block.covers(Block.MLP);
  }
}
