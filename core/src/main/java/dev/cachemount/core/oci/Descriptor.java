package dev.cachemount.core.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * An OCI content descriptor. The digest is kept as text here and parsed where it is used, so that a
 * foreign descriptor with another algorithm can be read (and skipped) rather than fail the parse.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Descriptor(
    String mediaType, String digest, long size, String artifactType, Map<String, String> annotations) {

  public Descriptor {
    annotations = annotations == null ? null : Map.copyOf(annotations);
  }

  public static Descriptor of(String mediaType, dev.cachemount.core.blob.Digest digest, long size) {
    return new Descriptor(mediaType, digest.toString(), size, null, null);
  }

  public String annotation(String key) {
    return annotations == null ? null : annotations.get(key);
  }

  static Descriptor read(JsonFields f) {
    return new Descriptor(f.text("mediaType"), f.text("digest"), f.longValue("size"), f.text("artifactType"), f.textMap("annotations"));
  }
}
