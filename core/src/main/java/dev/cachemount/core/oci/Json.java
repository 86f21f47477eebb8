package dev.cachemount.core.oci;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.cachemount.core.CachemountException;
import java.io.IOException;
import java.util.function.Function;

/** The one JSON mapper of the library: compact output, lenient about unknown input fields. */
public final class Json {
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
          .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
          .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  private Json() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  /**
   * Parses a stored manifest by walking its JSON tree ({@link JsonFields}), not by databind.
   *
   * @throws CachemountException of kind INTEGRITY when the bytes are not a JSON object of that shape
   */
  public static ImageManifest readManifest(byte[] json, String what) {
    return readTree(json, what, "manifest", ImageManifest::read);
  }

  /** Parses a snapshot config as {@link #readManifest} parses a manifest. */
  public static SnapshotConfig readConfig(byte[] json, String what) {
    return readTree(json, what, "config", SnapshotConfig::read);
  }

  private static <T> T readTree(byte[] json, String what, String root, Function<JsonFields, T> read) {
    JsonNode tree;
    try {
      tree = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw CachemountException.integrity(what + " is not valid JSON of the expected shape: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw CachemountException.integrity(what + " cannot be read: " + e.getMessage(), e);
    }
    if (tree == null || tree.isNull() || tree.isMissingNode()) {
      throw CachemountException.integrity(what + " is JSON null");
    }
    try {
      return read.apply(JsonFields.of(tree, root));
    } catch (IllegalArgumentException e) {
      throw CachemountException.integrity(what + " is not valid JSON of the expected shape: " + e.getMessage(), e);
    }
  }

  /**
   * Parses stored JSON.
   *
   * @param what names the document in the error message
   * @throws CachemountException of kind INTEGRITY when the bytes are not the expected JSON
   */
  public static <T> T read(byte[] json, Class<T> type, String what) {
    try {
      T value = MAPPER.readValue(json, type);
      if (value == null) {
        throw CachemountException.integrity(what + " is JSON null");
      }
      return value;
    } catch (JsonProcessingException e) {
      throw CachemountException.integrity(what + " is not valid JSON of the expected shape: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw CachemountException.integrity(what + " cannot be read: " + e.getMessage(), e);
    }
  }
}
