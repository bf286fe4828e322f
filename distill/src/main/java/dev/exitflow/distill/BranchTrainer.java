package dev.exitflow.distill;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * Trains a {@link BranchLayer} so that its pooled output points where the deep embedding points:
 * loss 1 - cos(branch, deep) averaged over a batch (plus, optionally, the same per token against
 * the deep layer's token states), Adam (bias-corrected, no weight decay), the
 * learning rate decaying linearly to zero over all steps. Batches of similar length, shuffled
 * each epoch with a fixed seed.
 */
final class BranchTrainer {
  private static final float BETA1 = 0.9f;
  private static final float BETA2 = 0.999f;
  private static final float EPSILON = 1e-8f;
  private static final double CLIP = 1.0;
  private final Engine engine;
  private final BranchLayer branch;
  private final NDManager state;
  private final Map<String, NDArray[]> moments = new HashMap<>();
  private final float learningRate;
  /** Weight of the token-level loss (1 - cos between the branch's and the deep layer's token states); 0: none. */
  private final float tokenWeight;
  /**
   * Weight of a relational loss: mean squared difference between the batch's pairwise cosine
   * similarities under the branch and under the deep model; 0: none.
   */
  private final float pairWeight;
  private final long totalSteps;
  private long step;
  /** Steps whose loss was not finite: their gradients are dropped instead of applied. */
  private long skipped;

  BranchTrainer(Engine engine, NDManager parent, BranchLayer branch, float learningRate, long totalSteps) {
    this(engine, parent, branch, learningRate, 0f, totalSteps);
  }

  BranchTrainer(Engine engine, NDManager parent, BranchLayer branch, float learningRate, float tokenWeight,
      long totalSteps) {
    this(engine, parent, branch, learningRate, tokenWeight, 0f, totalSteps);
  }

  BranchTrainer(Engine engine, NDManager parent, BranchLayer branch, float learningRate, float tokenWeight,
      float pairWeight, long totalSteps) {
    this.tokenWeight = tokenWeight;
    this.pairWeight = pairWeight;
    this.engine = engine;
    this.branch = branch;
    this.state = parent.newSubManager();
    this.learningRate = learningRate;
    this.totalSteps = totalSteps;
    branch.parameters().forEach((name, p) -> moments.put(name, new NDArray[] {state.zeros(p.getShape()),
        state.zeros(p.getShape())}));
  }

  /** One pass over {@code batches} of {@code data}'s exit {@code exit}; the mean loss per text. */
  double epoch(ExitStates data, int exit, List<int[]> batches, Random random, IntConsumer progress) {
    List<int[]> shuffled = new ArrayList<>(batches);
    Collections.shuffle(shuffled, random);
    double lossSum = 0;
    long texts = 0;
    for (int[] members : shuffled) {
      try (NDManager m = state.newSubManager()) {
        NDArray x = Batches.states(m, data, exit, members);
        NDArray mask = Batches.mask(m, data, members);
        NDArray target = Batches.deep(m, data, members);
        float loss;
        try (GradientCollector collector = engine.newGradientCollector()) {
          NDArray states = branch.tokens(x, mask);
          NDArray pooled = BranchLayer.pool(states, mask);
          NDArray cosine = pooled.mul(target).sum(new int[] {1}).div(pooled.norm(new int[] {1}));
          NDArray l = cosine.mean().neg().add(1f);
          if (pairWeight > 0) {
            // The batch's cosine similarities, branch against deep: what STS ranks.
            NDArray unit = pooled.div(pooled.norm(new int[] {1}, true));
            NDArray pairs = unit.matMul(unit.transpose()).sub(target.matMul(target.transpose()));
            l = l.add(pairs.square().mean().mul(pairWeight));
          }
          if (tokenWeight > 0) {
            NDArray deep = Batches.deepTokens(m, data, members);
            NDArray perToken = states.mul(deep).sum(new int[] {2})
                .div(states.norm(new int[] {2}).mul(deep.norm(new int[] {2})).add(1e-6f));
            NDArray tokenLoss = perToken.mul(mask).sum().div(mask.sum()).neg().add(1f);
            l = l.add(tokenLoss.mul(tokenWeight));
          }
          collector.backward(l);
          loss = l.getFloat();
        }
        if (Float.isFinite(loss)) {
          update(m);
        } else {
          skipped++;
          zeroGradients(m);
        }
        lossSum += (double) loss * members.length;
        texts += members.length;
      }
      progress.accept(members.length);
    }
    return lossSum / texts;
  }

  long skipped() {
    return skipped;
  }

  private void zeroGradients(NDManager m) {
    branch.parameters().values().forEach(p -> {
      NDArray g = p.getGradient();
      g.attach(m);
      g.subi(g);
    });
  }

  /**
   * One Adam step on every parameter, the gradients first scaled down to a global norm of at most
   * {@link #CLIP} (an early NaN run had exploded); temporaries go to {@code m}; gradients are zeroed after.
   */
  private void update(NDManager m) {
    step++;
    double squares = 0;
    for (NDArray p : branch.parameters().values()) {
      NDArray g = p.getGradient();
      g.attach(m);
      squares += g.square().sum().getFloat();
    }
    if (!Double.isFinite(squares)) {
      step--;
      skipped++;
      zeroGradients(m);
      return;
    }
    float clip = (float) Math.min(1.0, CLIP / Math.max(Math.sqrt(squares), 1e-12));
    float rate = learningRate * Math.max(0f, 1f - (float) (step - 1) / totalSteps);
    float correction1 = 1f - (float) Math.pow(BETA1, step);
    float correction2 = 1f - (float) Math.pow(BETA2, step);
    branch.parameters().forEach((name, p) -> {
      NDArray g = p.getGradient();
      g.attach(m);
      if (clip < 1f) {
        g.muli(clip);
      }
      NDArray[] mv = moments.get(name);
      mv[0].muli(BETA1).addi(g.mul(1f - BETA1));
      mv[1].muli(BETA2).addi(g.square().mul(1f - BETA2));
      NDArray denominator = mv[1].div(correction2);
      denominator.attach(m);
      denominator = denominator.sqrt().add(EPSILON);
      NDArray change = mv[0].mul(rate / correction1);
      change.attach(m);
      p.subi(change.div(denominator));
      g.subi(g); // zero the accumulated gradient in place for the next step
    });
  }
}
