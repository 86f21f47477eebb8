package dev.cachemount.core.oci;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Typed reads of the fields of a parsed JSON object, for the documents every command reads (a
 * manifest, a snapshot config): binding records through Jackson's databind first introspects each
 * class by reflection, about a tenth of a second per process that a tree walk does not pay. Missing
 * fields read as absent ({@code null}, {@code 0}), as databind reads them; a field of the wrong type
 * throws {@link IllegalArgumentException} naming it.
 */
final class JsonFields {
  private final JsonNode node;
  private final String where;

  private JsonFields(JsonNode node, String where) {
    this.node = node;
    this.where = where;
  }

  /** The fields of {@code node}, which must be an object; {@code where} names it in messages. */
  static JsonFields of(JsonNode node, String where) {
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(where + " is not a JSON object");
    }
    return new JsonFields(node, where);
  }

  private JsonNode field(String name) {
    JsonNode value = node.get(name);
    return value == null || value.isNull() ? null : value;
  }

  private IllegalArgumentException wrong(String name, String expected) {
    return new IllegalArgumentException("field " + where + "." + name + " is not " + expected);
  }

  String text(String name) {
    JsonNode value = field(name);
    if (value == null) {
      return null;
    }
    if (!value.isTextual()) {
      throw wrong(name, "a string");
    }
    return value.textValue();
  }

  long longValue(String name) {
    JsonNode value = node.get(name);
    if (value == null) {
      return 0;
    }
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw wrong(name, "an integer");
    }
    return value.longValue();
  }

  int intValue(String name) {
    long value = longValue(name);
    if (value != (int) value) {
      throw wrong(name, "a 32-bit integer");
    }
    return (int) value;
  }

  double doubleValue(String name) {
    JsonNode value = node.get(name);
    if (value == null) {
      return 0;
    }
    if (!value.isNumber()) {
      throw wrong(name, "a number");
    }
    return value.doubleValue();
  }

  /** A nested object read by {@code read}, or null when absent. */
  <T> T object(String name, Function<JsonFields, T> read) {
    JsonNode value = field(name);
    return value == null ? null : read.apply(of(value, where + "." + name));
  }

  /** An array of objects read by {@code read}, or null when absent. */
  <T> List<T> objects(String name, Function<JsonFields, T> read) {
    JsonNode value = field(name);
    if (value == null) {
      return null;
    }
    if (!value.isArray()) {
      throw wrong(name, "an array");
    }
    List<T> list = new ArrayList<>(value.size());
    for (int i = 0; i < value.size(); i++) {
      list.add(read.apply(of(value.get(i), where + "." + name + "[" + i + "]")));
    }
    return list;
  }

  /** An array of strings, or null when absent. */
  List<String> texts(String name) {
    JsonNode value = field(name);
    if (value == null) {
      return null;
    }
    if (!value.isArray()) {
      throw wrong(name, "an array");
    }
    List<String> list = new ArrayList<>(value.size());
    for (JsonNode item : value) {
      if (!item.isTextual()) {
        throw wrong(name, "an array of strings");
      }
      list.add(item.textValue());
    }
    return list;
  }

  /** An object of string values, or null when absent. */
  Map<String, String> textMap(String name) {
    JsonNode value = field(name);
    if (value == null) {
      return null;
    }
    if (!value.isObject()) {
      throw wrong(name, "an object");
    }
    Map<String, String> map = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) value::fields) {
      if (!e.getValue().isTextual()) {
        throw wrong(name, "an object of strings");
      }
      map.put(e.getKey(), e.getValue().textValue());
    }
    return map;
  }
}
