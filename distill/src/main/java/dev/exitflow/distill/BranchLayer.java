package dev.exitflow.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An exit branch in DJL (PyTorch): one BERT encoder layer (self-attention, residual and LayerNorm,
 * GELU MLP, residual and LayerNorm) over an exit's token states, then mean pooling over the live
 * tokens. It computes what the exported layer computes: the graph's x W + b with W as stored
 * ([in, out]), exact (erf) GELU, LayerNorm epsilon 1e-12, masked keys pushed to -1e9 before the softmax.
 */
final class BranchLayer implements AutoCloseable {
  static final float LAYER_NORM_EPSILON = 1e-12f;
  private final NDManager manager;
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();
  private final int heads;
  private final int layer;

  /** Trainable copies of {@code init}'s weights, on {@code parent}'s device. */
  BranchLayer(NDManager parent, LayerWeights init, int heads) {
    this.manager = parent.newSubManager();
    this.heads = heads;
    this.layer = init.layer();
    init.tensors().forEach((name, t) -> {
      NDArray p = manager.create(t.values(), new Shape(t.shape()));
      p.setRequiresGradient(true);
      parameters.put(name, p);
    });
  }

  Map<String, NDArray> parameters() {
    return parameters;
  }

  /**
   * Pooled outputs [batch, hidden] of states {@code x} [batch, tokens, hidden] whose live tokens
   * {@code mask} [batch, tokens] marks with 1. Intermediate arrays belong to {@code x}'s manager.
   */
  NDArray forward(NDArray x, NDArray mask) {
    return pool(tokens(x, mask), mask);
  }

  /** Mean of {@code states} [batch, tokens, hidden] over the tokens {@code mask} marks. */
  static NDArray pool(NDArray states, NDArray mask) {
    NDArray m = mask.expandDims(2);
    return states.mul(m).sum(new int[] {1}).div(m.sum(new int[] {1}));
  }

  /** The layer's output states [batch, tokens, hidden] (padding rows included; pooling ignores them). */
  NDArray tokens(NDArray x, NDArray mask) {
    Shape s = x.getShape();
    long b = s.get(0);
    long t = s.get(1);
    long h = s.get(2);
    long d = h / heads;
    NDArray q = dense(x, "q").reshape(b, t, heads, d).transpose(0, 2, 1, 3);
    NDArray k = dense(x, "k").reshape(b, t, heads, d).transpose(0, 2, 3, 1);
    NDArray v = dense(x, "v").reshape(b, t, heads, d).transpose(0, 2, 1, 3);
    NDArray keyBias = mask.sub(1f).mul(1e9f).reshape(b, 1, 1, t);
    NDArray attention = q.matMul(k).div((float) Math.sqrt(d)).add(keyBias).softmax(3);
    NDArray context = attention.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, h);
    NDArray a = layerNorm(dense(context, "o").add(x), "ln1");
    NDArray inner = dense(a, "i");
    inner = inner.mul(inner.div((float) Math.sqrt(2)).erf().add(1f)).mul(0.5f);
    return layerNorm(dense(inner, "f").add(a), "ln2");
  }

  private NDArray dense(NDArray x, String name) {
    return x.matMul(parameters.get(name + ".weight")).add(parameters.get(name + ".bias"));
  }

  private NDArray layerNorm(NDArray x, String name) {
    NDArray centred = x.sub(x.mean(new int[] {2}, true));
    NDArray variance = centred.square().mean(new int[] {2}, true);
    return centred.div(variance.add(LAYER_NORM_EPSILON).sqrt())
        .mul(parameters.get(name + ".weight")).add(parameters.get(name + ".bias"));
  }

  /** The current weights, copied out (to keep the best epoch's, or to export). */
  LayerWeights weights() {
    Map<String, LayerWeights.Tensor> out = new LinkedHashMap<>();
    parameters.forEach((name, p) -> out.put(name, new LayerWeights.Tensor(p.getShape().getShape(), p.toFloatArray())));
    return new LayerWeights(layer, out);
  }

  /** Overwrites the parameters with {@code w}'s values (same names and shapes). */
  void load(LayerWeights w) {
    parameters.forEach((name, p) -> p.set(w.tensors().get(name).values()));
  }

  @Override
  public void close() {
    manager.close();
  }
}
