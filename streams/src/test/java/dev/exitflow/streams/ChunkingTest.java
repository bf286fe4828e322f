package dev.exitflow.streams;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.exitflow.actors.EmbeddingRequest;
import dev.exitflow.actors.EmbeddingResult;
import dev.exitflow.actors.EncoderRuntime;
import dev.exitflow.actors.ExitPolicy;
import dev.exitflow.model.tokenize.TextWindows;
import dev.exitflow.streams.request.DecodedRequest;
import dev.exitflow.streams.request.RequestDecoder;
import dev.exitflow.streams.request.RequestDefaults;
import dev.exitflow.streams.request.RequestLimits;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Chunk mode on the real model: a long text's windows pooled by tokens; a text that fits, unchanged. */
class ChunkingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static RuntimeFixture served;
  private static EncoderRuntime runtime;
  private static RequestDecoder decoder;

  @BeforeAll
  static void start() {
    Config config = ConfigFactory.load();
    served = RuntimeFixture.start(config);
    runtime = served.runtime();
    decoder = RequestDecoder.forRuntime(runtime, RequestLimits.create(config));
  }

  @AfterAll
  static void stop() {
    served.stop();
  }

  private static DecodedRequest decode(Map<String, Object> fields) throws Exception {
    return decoder.frame(JSON.writeValueAsBytes(fields), RequestDefaults.INTERACTIVE);
  }

  private static EmbeddingResult await(java.util.concurrent.CompletionStage<EmbeddingResult> r) throws Exception {
    return r.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void aFiveThousandTokenTextIsTheTokenWeightedMeanOfItsWindowsEmbeddedSeparately() throws Exception {
    String text = Prose.ofTokens(runtime.tokenizer(), 5000);
    DecodedRequest r = decode(Map.of("input", text, "long_text", "chunk", "exit", 2));
    TextWindows w = r.window();
    assertTrue(w.tokens() >= 5000 && w.tokens() < 5200, w.tokens() + " tokens");
    // 254 text tokens a window, 32 shared: at least (5000 - 32) / 222 windows.
    assertTrue(w.count() >= 23 && w.count() <= 30, w.count() + " windows");
    EmbeddingResult pooled = await(Chunking.submit(runtime, r.request(), w));
    assertEquals(w.count(), pooled.chunks());
    assertEquals(2, pooled.exitLayer());
    assertFalse(pooled.truncated());
    assertEquals(1.0, Prose.norm(pooled.embedding()), 1e-5);

    double[] mean = new double[pooled.embedding().length];
    int tokens = 0;
    for (String window : w.texts()) {
      EmbeddingResult one = await(runtime.submit(EmbeddingRequest.of(window, new ExitPolicy.Exact(2))));
      assertFalse(one.truncated(), "a window fits the model");
      for (int d = 0; d < mean.length; d++) {
        mean[d] += one.tokens() * (double) one.embedding()[d];
      }
      tokens += one.tokens();
    }
    assertEquals(tokens, pooled.tokens());
    double cosine = Prose.cosine(pooled.embedding(), mean);
    assertTrue(cosine >= 0.9999, "cosine to the windows' weighted mean " + cosine);
    // And not merely any long text's embedding: the first window alone (truncate mode) is further off.
    EmbeddingResult truncated = await(runtime.submit(EmbeddingRequest.of(text, new ExitPolicy.Exact(2))));
    assertTrue(truncated.truncated());
    assertTrue(Prose.cosine(truncated.embedding(), mean) < 0.99, "truncated vs pooled");
  }

  @Test
  void aTextThatFitsGetsTheSameEmbeddingInBothModesAsOneChunk() throws Exception {
    String text = "The committee adopted the report on the budget for the coming year.";
    DecodedRequest chunk = decode(Map.of("input", text, "long_text", "chunk"));
    EmbeddingResult chunked = await(Chunking.submit(runtime, chunk.request(), chunk.window()));
    DecodedRequest plain = decode(Map.of("input", text, "long_text", "truncate"));
    EmbeddingResult truncated = await(Chunking.submit(runtime, plain.request(), plain.window()));
    assertEquals(1, chunked.chunks());
    assertEquals(0, truncated.chunks());
    assertArrayEquals(truncated.embedding(), chunked.embedding());
    assertEquals(truncated.tokens(), chunked.tokens());
    assertEquals(6, chunked.exitLayer());
  }
}
