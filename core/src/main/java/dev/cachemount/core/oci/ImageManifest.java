package dev.cachemount.core.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/** An OCI image manifest (image-spec v1.1). Unknown fields of foreign manifests are ignored. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ImageManifest(
    int schemaVersion,
    String mediaType,
    String artifactType,
    Descriptor config,
    List<Descriptor> layers,
    Map<String, String> annotations) {

  public ImageManifest {
    layers = layers == null ? List.of() : List.copyOf(layers);
    annotations = annotations == null ? null : Map.copyOf(annotations);
  }

  static ImageManifest read(JsonFields f) {
    return new ImageManifest(f.intValue("schemaVersion"), f.text("mediaType"), f.text("artifactType"), f.object("config", Descriptor::read),
        f.objects("layers", Descriptor::read), f.textMap("annotations"));
  }
}
