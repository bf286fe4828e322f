package dev.exitflow.model.adapter;

import dev.exitflow.model.runtime.NativeCalls;
import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.exitflow.model.runtime.OrtSessions;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * Matrix products for calibration, run by ONNX Runtime: its GEMM (MLAS) is vectorised and uses
 * every core, where EJML's took minutes for the Gram matrix and the Cholesky updates of a
 * 5,760-feature ridge fit. Four one-node graphs ({@code Gemm}, float and double, B transposed or
 * not) with symbolic dimensions serve every shape.
 */
final class OrtGemm implements AutoCloseable {
  private final OrtEnvironment env;
  private final OrtSession floatNt;
  private final OrtSession floatNn;
  private final OrtSession doubleNt;
  private final OrtSession doubleNn;
  private final DoubleBuffer[] scratch = new DoubleBuffer[2];

  OrtGemm() {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      env = NativeCalls.run(OrtSessions::environment);
      // No arena: products of many sizes would leave it holding the largest of each for the process.
      options.setCPUArenaAllocator(false);
      floatNt = NativeCalls.run(() -> env.createSession(graph(TensorProto.DataType.FLOAT_VALUE, true).toByteArray(), options));
      floatNn = NativeCalls.run(() -> env.createSession(graph(TensorProto.DataType.FLOAT_VALUE, false).toByteArray(), options));
      doubleNt = NativeCalls.run(() -> env.createSession(graph(TensorProto.DataType.DOUBLE_VALUE, true).toByteArray(), options));
      doubleNn = NativeCalls.run(() -> env.createSession(graph(TensorProto.DataType.DOUBLE_VALUE, false).toByteArray(), options));
    } catch (OrtException e) {
      throw new IllegalStateException("cannot open the calibration GEMM sessions", e);
    }
  }

  /** A [m, k] times B [n, k] transposed: [m, n], accumulated into {@code into} (as doubles). */
  void addNt(FloatBuffer a, int m, int k, FloatBuffer b, int n, double[] into, int intoStride, int intoOffset) {
    FloatBuffer c = run(floatNt, OnnxTensorFactory.floats(env, a, m, k), OnnxTensorFactory.floats(env, b, n, k));
    for (int i = 0; i < m; i++) {
      int row = intoOffset + i * intoStride;
      for (int j = 0; j < n; j++) {
        into[row + j] += c.get(i * n + j);
      }
    }
  }

  /** A [m, k] times B [k, n]: [m, n], accumulated into {@code into} ([m, n], as doubles). */
  void addNn(FloatBuffer a, int m, int k, FloatBuffer b, int n, double[] into) {
    FloatBuffer c = run(floatNn, OnnxTensorFactory.floats(env, a, m, k), OnnxTensorFactory.floats(env, b, k, n));
    for (int i = 0; i < m * n; i++) {
      into[i] += c.get(i);
    }
  }

  /** A [m, k] times B [n, k] transposed, in doubles: [m, n]. */
  double[] nt(double[] a, int m, int k, double[] b, int n) {
    return doubles(run(doubleNt, tensor(0, a, m, k), tensor(1, b, n, k)), m * n);
  }

  /** A [m, k] times B [k, n], in doubles: [m, n]. */
  double[] nn(double[] a, int m, int k, double[] b, int n) {
    return doubles(run(doubleNn, tensor(0, a, m, k), tensor(1, b, k, n)), m * n);
  }

  /**
   * A tensor over a reused direct buffer (one per operand): ONNX Runtime would otherwise copy
   * each heap array into a fresh direct buffer, which only a garbage collection frees, and the
   * factorisation's products would pile gigabytes of them up outside the heap.
   */
  private OnnxTensor tensor(int operand, double[] data, int rows, int cols) {
    int size = rows * cols;
    if (scratch[operand] == null || scratch[operand].capacity() < size) {
      scratch[operand] = ByteBuffer.allocateDirect(size * 8).order(ByteOrder.nativeOrder()).asDoubleBuffer();
    }
    DoubleBuffer buffer = scratch[operand];
    buffer.clear();
    buffer.put(data, 0, size);
    buffer.flip();
    try {
      return OnnxTensor.createTensor(env, buffer.slice(), new long[] {rows, cols});
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  private static double[] doubles(Buffer c, int size) {
    double[] out = new double[size];
    ((DoubleBuffer) c).get(out);
    return out;
  }

  @SuppressWarnings("unchecked")
  private static <B extends Buffer> B run(OrtSession session, OnnxTensor a, OnnxTensor b) {
    try (a; b; OrtSession.Result r = NativeCalls.run(() -> session.run(Map.of("a", a, "b", b)))) {
      OnnxTensor c = (OnnxTensor) r.get(0);
      return (B) (c.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT ? c.getFloatBuffer() : c.getDoubleBuffer());
    } catch (OrtException e) {
      throw new IllegalStateException("calibration GEMM failed", e);
    }
  }

  private static ModelProto graph(int type, boolean transB) {
    GraphProto g = GraphProto.newBuilder()
        .setName(transB ? "gemm-nt" : "gemm-nn")
        .addInput(info("a", type, "m", "k"))
        .addInput(info("b", type, transB ? "n" : "k", transB ? "k" : "n"))
        .addOutput(info("c", type, "m", "n"))
        .addNode(NodeProto.newBuilder().setOpType("Gemm").setName("gemm").addInput("a").addInput("b").addOutput("c")
            .addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT)
                .setI(transB ? 1 : 0)))
        .build();
    return ModelProto.newBuilder().setIrVersion(7).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
        .setGraph(g).build();
  }

  private static ValueInfoProto info(String name, int type, String rows, String cols) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(rows))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(cols))
        .build();
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(shape)))
        .build();
  }

  /** Tensors over slices of direct buffers in native order, which ONNX Runtime reads without a copy. */
  private static final class OnnxTensorFactory {
    static OnnxTensor floats(OrtEnvironment env, FloatBuffer data, int rows, int cols) {
      try {
        return OnnxTensor.createTensor(env, data, new long[] {rows, cols});
      } catch (OrtException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Override
  public void close() {
    try {
      floatNt.close();
      floatNn.close();
      doubleNt.close();
      doubleNn.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }
}
