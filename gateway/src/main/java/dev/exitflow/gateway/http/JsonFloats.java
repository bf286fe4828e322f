package dev.exitflow.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import dev.exitflow.streams.FloatArrayJson;
import java.io.IOException;

/**
 * An embedding inside a response tree, written straight from its float[] when the tree is
 * serialized: the same bytes as an ArrayNode of FloatNodes (see FloatArrayJson), without the 384
 * nodes per result that such an array costs.
 */
record JsonFloats(float[] values) implements JsonSerializable {
  @Override
  public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
    FloatArrayJson.write(g, values);
  }

  @Override
  public void serializeWithType(JsonGenerator g, SerializerProvider provider, TypeSerializer type) throws IOException {
    serialize(g, provider);
  }
}
