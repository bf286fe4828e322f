package dev.exitflow.gateway.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.exitflow.streams.kafka.KafkaSettings;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "produce", mixinStandardHelpOptions = true,
    description = "Send request records to the Kafka requests topic: the texts given, or one per line of stdin. "
        + "Prints where each record went; its result's id is topic-partition-offset unless --id is given.")
final class ProduceCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Texts to embed; none: read lines from stdin")
  List<String> texts = new ArrayList<>();

  @Option(names = "--topic", description = "Topic; default: exitflow.kafka.topics.requests")
  String topic;

  @Option(names = "--key", description = "Record key (passes through to the result)")
  String key;

  @Option(names = "--id", description = "Request id (JSON records only); a second text gets id-2, and so on")
  String id;

  @Option(names = "--exit", description = "Exit policy: auto, shallow, deep or a layer number (JSON records only)")
  String exit;

  @Option(names = "--deadline-ms", description = "Deadline from the record's timestamp (JSON records only)")
  Long deadlineMs;

  @Option(names = "--dimensions", description = "Matryoshka truncation (JSON records only)")
  Integer dimensions;

  @Option(names = "--text", description = "Send the plain text as the value instead of JSON "
      + "(the pipeline must run with exitflow.kafka.format.record = text)")
  boolean plainText;

  @Mixin KafkaOptions kafka;

  @Spec CommandSpec spec;

  record Sent(String topic, int partition, long offset, String key, String id) {}

  @Override
  public Integer call() throws Exception {
    KafkaSettings settings = kafka.settings();
    String target = topic != null ? topic : settings.topics().requests();
    List<String> inputs = texts.isEmpty() ? stdinLines() : texts;
    boolean text = plainText || settings.recordFormat() == KafkaSettings.RecordFormat.TEXT;
    Map<String, Object> props = kafka.clientProperties(settings.producerProperties());
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < inputs.size(); i++) {
        String recordId = id == null ? null : i == 0 ? id : id + "-" + (i + 1);
        ids.add(recordId);
        byte[] value = text ? inputs.get(i).getBytes(StandardCharsets.UTF_8) : json(inputs.get(i), recordId);
        sent.add(producer.send(new ProducerRecord<>(target, key == null ? null : key.getBytes(StandardCharsets.UTF_8), value)));
      }
      for (int i = 0; i < sent.size(); i++) {
        RecordMetadata m = sent.get(i).get(60, TimeUnit.SECONDS);
        String shown = ids.get(i) != null ? ids.get(i) : m.topic() + "-" + m.partition() + "-" + m.offset();
        spec.commandLine().getOut().println(Json.of(new Sent(m.topic(), m.partition(), m.offset(), key, shown)));
      }
    }
    return 0;
  }

  private byte[] json(String input, String recordId) throws Exception {
    Map<String, Object> v = new LinkedHashMap<>();
    if (recordId != null) {
      v.put("id", recordId);
    }
    v.put("input", input);
    if (exit != null) {
      v.put("exit", exit);
    }
    if (deadlineMs != null) {
      v.put("deadline_ms", deadlineMs);
    }
    if (dimensions != null) {
      v.put("dimensions", dimensions);
    }
    return JSON.writeValueAsBytes(v);
  }

  private static List<String> stdinLines() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    return in.lines().filter(l -> !l.isBlank()).toList();
  }
}
