package dev.exitflow.streams.kafka;

import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.streams.Job;
import dev.exitflow.streams.request.DecodedRequest;
import dev.exitflow.streams.request.ErrorCode;
import dev.exitflow.streams.request.InvalidRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.pekko.kafka.ConsumerMessage.CommittableMessage;

/**
 * Turns a request record into a {@link Job}: the request, or the error that says why there is
 * none (never an exception, so a bad record cannot stop the stream). The value is decoded by the
 * {@link RequestDecoder} every transport shares: a JSON request object, or with {@code format.record
 * = text} the whole value as the input; the record's own checks are only its size and presence.
 *
 * <p>Deadlines count from the record's timestamp: an {@code auto} record gets what is left of the
 * SLO when it is decoded, so consumer lag makes later records leave earlier instead of lagging more.
 */
final class RecordDecoder {
  private final KafkaSettings settings;
  private final RequestDecoder decoder;
  private final RequestDefaults defaults;

  RecordDecoder(KafkaSettings settings, EncoderRuntime runtime) {
    this.settings = settings;
    this.decoder = RequestDecoder.forRuntime(runtime, settings.requestLimits());
    this.defaults = new RequestDefaults(settings.defaultExit(), settings.priority(), null, null);
  }

  Job<Incoming> decode(CommittableMessage<byte[], byte[]> message, long seq) {
    ConsumerRecord<byte[], byte[]> r = message.record();
    long now = System.nanoTime();
    String fallbackId = Incoming.defaultId(r);
    try {
      byte[] value = r.value();
      if (value == null || value.length == 0) {
        throw new InvalidRequest(ErrorCode.EMPTY_INPUT, "input", "the record has no value; there is nothing to embed");
      }
      if (value.length > settings.maxRecordBytes()) {
        throw new InvalidRequest(ErrorCode.REQUEST_TOO_LARGE, null, "the record value has " + value.length
            + " bytes; at most " + settings.maxRecordBytes() + " are accepted (exitflow.kafka.requests.max-record-bytes)");
      }
      DecodedRequest d = settings.recordFormat() == KafkaSettings.RecordFormat.TEXT
          ? decoder.text(value, defaults)
          : decoder.frame(value, defaults);
      String id = d.id() == null ? fallbackId : d.id().asText();
      EmbeddingRequest request = withBudget(d.request(), r.timestamp(), System.currentTimeMillis(),
          settings.slo().toMillis());
      return Job.of(new Incoming(message.committableOffset(), r, id, request, d.window(), now, seq), request,
          d.window());
    } catch (InvalidRequest e) {
      String id = e.id() == null ? fallbackId : e.id().asText();
      return Job.invalid(new Incoming(message.committableOffset(), r, id, null, null, now, seq), e);
    }
  }

  /**
   * The deadline left of the record's own (or, for auto, of the SLO) after its time in the topic;
   * soft: a record refused for it would only be later when sent again, so it is served late instead.
   */
  static EmbeddingRequest withBudget(EmbeddingRequest req, long timestampMs, long nowMs, long sloMs) {
    long age = timestampMs > 0 ? Math.max(0, nowMs - timestampMs) : 0;
    Long budget = req.deadlineMs() != null ? req.deadlineMs()
        : req.exit() instanceof ExitPolicy.Auto ? Long.valueOf(sloMs) : null;
    return budget == null ? req : req.withDeadlineMs(Math.max(1, budget - age)).withSoftDeadline();
  }
}
