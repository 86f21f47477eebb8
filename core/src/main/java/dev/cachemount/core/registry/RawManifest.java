package dev.cachemount.core.registry;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import com.google.cloud.tools.jib.image.json.ManifestTemplate;
import dev.cachemount.core.store.ManifestBytes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A manifest handed to jib-core's manifest push exactly as we serialised it. jib-core writes a
 * template with Jackson; this one writes its bytes raw, so the digest the registry computes is the
 * digest we computed (and that the snapshot's tag resolves to).
 */
final class RawManifest implements ManifestTemplate, JsonSerializable {
  private final ManifestBytes manifest;

  RawManifest(ManifestBytes manifest) {
    this.manifest = manifest;
  }

  @Override
  public int getSchemaVersion() {
    return 2;
  }

  @Override
  public String getManifestMediaType() {
    return manifest.mediaType();
  }

  @Override
  public void serialize(JsonGenerator gen, SerializerProvider serializers) throws IOException {
    gen.writeRawValue(new String(manifest.bytes(), StandardCharsets.UTF_8));
  }

  @Override
  public void serializeWithType(JsonGenerator gen, SerializerProvider serializers, TypeSerializer typeSer) throws IOException {
    serialize(gen, serializers);
  }
}
