package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import java.io.IOException;

/**
 * An embedding inside a response tree, written straight from its float[] when the tree is
 * serialized: the same bytes as an ArrayNode of FloatNodes (each element through
 * {@code writeNumber(float)}), without the 384 nodes per result that such an array costs.
 */
record JsonFloats(float[] values) implements JsonSerializable {
  @Override
  public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
    g.writeStartArray(values, values.length);
    for (float x : values) {
      g.writeNumber(x);
    }
    g.writeEndArray();
  }

  @Override
  public void serializeWithType(JsonGenerator g, SerializerProvider provider, TypeSerializer type) throws IOException {
    serialize(g, provider);
  }
}
