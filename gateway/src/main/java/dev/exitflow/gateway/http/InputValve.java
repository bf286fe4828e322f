package dev.exitflow.gateway.http;

import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.GraphStageWithMaterializedValue;
import scala.Tuple2;

/**
 * Passes elements until it is closed (its materialized {@link Runnable}, callable from any
 * thread); then completes downstream but keeps its upstream open, reading and dropping what still
 * comes. For a WebSocket's incoming messages: Pekko HTTP closes the connection at once when a
 * handler cancels its input, which would cut the answers still on their way out.
 *
 * <p>Emits when downstream pulls and an element arrives, before it is closed; backpressures when
 * downstream does not pull; completes when upstream completes or when closed; cancels upstream
 * when downstream cancels, and completes when upstream completes after it was closed.
 */
final class InputValve<T> extends GraphStageWithMaterializedValue<FlowShape<T, T>, Runnable> {
  private final Inlet<T> in = Inlet.create("InputValve.in");
  private final Outlet<T> out = Outlet.create("InputValve.out");
  private final FlowShape<T, T> shape = FlowShape.of(in, out);

  @Override
  public FlowShape<T, T> shape() {
    return shape;
  }

  @Override
  public Tuple2<GraphStageLogic, Runnable> createLogicAndMaterializedValue(Attributes attributes) {
    Logic logic = new Logic();
    return new Tuple2<>(logic, () -> logic.close.invoke(null));
  }

  private final class Logic extends GraphStageLogic {
    final AsyncCallback<Void> close = createAsyncCallback(v -> onClose());

    Logic() {
      super(shape);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          push(out, grab(in));
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pull(in);
        }
      });
    }

    private void onClose() {
      if (isClosed(out)) {
        return;
      }
      complete(out);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          grab(in); // dropped: the session takes no new requests
          pull(in);
        }
      });
      if (!isClosed(in) && !hasBeenPulled(in)) {
        pull(in);
      }
    }
  }
}
