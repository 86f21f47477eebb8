package dev.cachemount.core.oci;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.cachemount.core.CachemountException;
import java.io.IOException;

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
