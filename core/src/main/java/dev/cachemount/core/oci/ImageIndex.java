package dev.cachemount.core.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/** An OCI image index: an OCI layout's {@code index.json}, or a multi-manifest index in a store. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ImageIndex(int schemaVersion, String mediaType, List<Descriptor> manifests, Map<String, String> annotations) {
  public ImageIndex {
    manifests = manifests == null ? List.of() : List.copyOf(manifests);
    annotations = annotations == null ? null : Map.copyOf(annotations);
  }

  public static ImageIndex empty() {
    return new ImageIndex(2, MediaTypes.OCI_INDEX, List.of(), null);
  }
}
