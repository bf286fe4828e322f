package dev.exitflow.research;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.util.List;
import java.util.Optional;

/** langchain4j's in-process embedding model for a built-in, as a benchmark peer (nothing else uses it). */
final class Langchain4jPeer {
  private final EmbeddingModel model;

  private Langchain4jPeer(EmbeddingModel model) {
    this.model = model;
  }

  static Optional<Langchain4jPeer> forModel(String name) {
    return switch (name) {
      case "all-minilm-l6-v2" -> Optional.of(new Langchain4jPeer(new AllMiniLmL6V2EmbeddingModel()));
      case "all-minilm-l6-v2-q" -> Optional.of(new Langchain4jPeer(new AllMiniLmL6V2QuantizedEmbeddingModel()));
      default -> Optional.empty();
    };
  }

  void embed(List<String> texts) {
    model.embedAll(texts.stream().map(TextSegment::from).toList());
  }
}
