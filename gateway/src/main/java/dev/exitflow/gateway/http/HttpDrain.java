package dev.exitflow.gateway.http;

import dev.exitflow.actors.ShuttingDown;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * What SIGTERM does to HTTP traffic, before the port is unbound: from {@link #drain} on, every new
 * request (a new connection or the next request of a kept-alive one) gets a 503 JSON error with
 * {@code Connection: close} and readiness turns off; requests in flight finish, including their
 * streamed responses: a bulk upload in progress is read to its end and answered, a WebSocket
 * stops reading new frames, answers those it admitted, then closes. When the drain deadline runs
 * out first, a bulk response ends with a last NDJSON line saying the server is stopping (never a
 * silent cut) and WebSocket sessions end.
 *
 * <p>Pekko HTTP's own {@code ServerBinding.terminate} is not enough on its own: it refuses new
 * connections instead of answering them, and it does not wait for streamed response entities.
 */
public final class HttpDrain extends AllDirectives {
  /** An open stream: what it does when the drain starts, and when the drain deadline runs out. */
  private record Stream(Runnable onDrain, Runnable onDeadline) {}

  static final Duration GRACE = Duration.ofMillis(500);

  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicInteger requests = new AtomicInteger();
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private final CompletableFuture<Done> idle = new CompletableFuture<>();

  /** True once {@link #drain} has been called. */
  public boolean draining() {
    return draining.get();
  }

  /** Requests (including streamed responses) and WebSocket sessions in flight now. */
  public int inFlight() {
    return requests.get() + streams.size();
  }

  /**
   * Turns new requests away, tells open streams, and completes when nothing is in flight any more
   * or, at the latest, shortly after {@code deadline}, when the streams still open are cut. It
   * completes {@link #GRACE} after that, so that a request a client sent on a kept-alive
   * connection just as the last response went out still gets its 503 before the port closes.
   */
  public CompletionStage<Done> drain(Duration deadline) {
    if (draining.compareAndSet(false, true)) {
      streams.forEach(s -> s.onDrain().run());
      checkIdle();
      CompletableFuture.delayedExecutor(deadline.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
        streams.forEach(s -> s.onDeadline().run());
        // a cut stream still needs a moment to write its last line
        CompletableFuture.delayedExecutor(2, TimeUnit.SECONDS).execute(() -> idle.complete(Done.getInstance()));
      });
    }
    return idle.thenCompose(d -> {
      CompletableFuture<Done> later = new CompletableFuture<>();
      CompletableFuture.delayedExecutor(GRACE.toMillis(), TimeUnit.MILLISECONDS).execute(() -> later.complete(d));
      return later;
    });
  }

  private void checkIdle() {
    if (draining.get() && inFlight() == 0) {
      idle.complete(Done.getInstance());
    }
  }

  /** Counts each request until its response, streamed entity included, has been sent; 503 while draining. */
  public Route gate(Supplier<Route> inner) {
    return extractRequest(request -> {
      if (draining.get()) {
        return complete(HttpJson.error(ApiError.of(new ShuttingDown())).addHeader(Connection.create("close")));
      }
      requests.incrementAndGet();
      return mapResponse(this::tracked, inner);
    });
  }

  private HttpResponse tracked(HttpResponse response) {
    // Once draining, no connection is used for another request: the client's next one comes on a
    // new connection and gets the gate's 503 (or is refused once unbound), never a closed socket.
    HttpResponse r = draining.get() ? response.addHeader(Connection.create("close")) : response;
    HttpEntity entity = r.entity();
    if (entity.isKnownEmpty() || entity instanceof HttpEntity.Strict) {
      done();
      return r;
    }
    return r.transformEntityDataBytes(Flow.<ByteString>create().watchTermination((mat, finished) -> {
      finished.whenComplete((d, e) -> done());
      return NotUsed.getInstance();
    }));
  }

  private void done() {
    requests.decrementAndGet();
    checkIdle();
  }

  /** A bulk response: ended by {@code stopLine} when the drain deadline runs out before the upload does. */
  public Flow<ByteString, ByteString, NotUsed> bulk(Supplier<ByteString> stopLine) {
    return Flow.fromMaterializer((mat, attributes) -> {
      AtomicBoolean cut = new AtomicBoolean();
      Stream[] stream = new Stream[1];
      return Flow.<ByteString>create()
          .viaMat(KillSwitches.single(), Keep.right())
          .mapMaterializedValue(ks -> stream[0] = track(() -> { }, () -> {
            cut.set(true);
            ks.shutdown();
          }))
          .concatLazy(Source.lazySource(() -> cut.get() ? Source.single(stopLine.get()) : Source.<ByteString>empty()))
          .watchTermination((m, finished) -> untrackWhenDone(stream[0], finished));
    }).mapMaterializedValue(f -> NotUsed.getInstance());
  }

  /**
   * A WebSocket session: on drain its input is completed (new frames are read and dropped; those admitted
   * are answered, then {@code goodbye} — given how many frames the session admitted — is sent and
   * the session completes, upon which Pekko HTTP sends the close frame); at the deadline its output
   * is completed too.
   */
  public Flow<Message, Message, NotUsed> websocket(Flow<Message, Message, NotUsed> session,
      java.util.function.LongFunction<Message> goodbye) {
    return Flow.fromMaterializer((mat, attributes) -> {
      Runnable[] closeInput = new Runnable[1];
      Stream[] stream = new Stream[1];
      AtomicBoolean drained = new AtomicBoolean();
      java.util.concurrent.atomic.AtomicLong admitted = new java.util.concurrent.atomic.AtomicLong();
      return Flow.<Message>create()
          .viaMat(Flow.fromGraph(new InputValve<Message>()), Keep.right())
          .mapMaterializedValue(close -> closeInput[0] = close)
          .map(m -> {
            admitted.incrementAndGet();
            return m;
          })
          .via(session)
          .viaMat(KillSwitches.single(), Keep.right())
          .mapMaterializedValue(out -> stream[0] = track(() -> {
            drained.set(true);
            closeInput[0].run();
          }, out::shutdown))
          .concatLazy(Source.lazySource(() -> drained.get() ? Source.single(goodbye.apply(admitted.get()))
              : Source.<Message>empty()))
          .watchTermination((m, finished) -> untrackWhenDone(stream[0], finished));
    }).mapMaterializedValue(f -> NotUsed.getInstance());
  }

  /** Registers a stream; a stream opened during a drain is told at once. */
  private Stream track(Runnable onDrain, Runnable onDeadline) {
    Stream s = new Stream(onDrain, onDeadline);
    streams.add(s);
    if (draining.get()) {
      onDrain.run();
    }
    return s;
  }

  private NotUsed untrackWhenDone(Stream s, CompletionStage<Done> finished) {
    finished.whenComplete((d, e) -> {
      streams.remove(s);
      checkIdle();
    });
    return NotUsed.getInstance();
  }
}
