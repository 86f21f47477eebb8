package dev.cachemount.core.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.ChunkerParameters;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The manifest and config readers that walk the JSON tree read back exactly what databind writes. */
class JsonDocumentsTest {
  private static final Digest D1 = Digest.of("one".getBytes(StandardCharsets.UTF_8));
  private static final Digest D2 = Digest.of("two".getBytes(StandardCharsets.UTF_8));

  private static SnapshotConfig config(SnapshotConfig.Lineage lineage) {
    return new SnapshotConfig(SnapshotConfig.FORMAT_VERSION, "m2", "2026-11-27T21:00:00.123456789Z", new SnapshotConfig.Tool("cachemount", "0.1.0"),
        SnapshotConfig.Chunker.of(ChunkerParameters.DEFAULT), new SnapshotConfig.Packing("zstd", 3, 16384, 33_554_432L),
        new SnapshotConfig.Counts(6162, 4176, 1986, 0, 412_511_931L, 61_000, 410_000_000L, 25_000, 14, 375_000_000L), lineage,
        lineage == null ? null : "sha256:" + D1.hex());
  }

  @Test
  void configsRoundTrip() {
    for (SnapshotConfig.Lineage lineage : new SnapshotConfig.Lineage[] {
        null,
        new SnapshotConfig.Lineage("sha256:" + D1.hex(), List.of("localhost:5000/a/cache@sha256:" + D2.hex()), 12, 394_805_200L, 0.0317),
        new SnapshotConfig.Lineage(null, null, 0, 5, 0)}) {
      SnapshotConfig written = config(lineage);
      assertEquals(written, Json.readConfig(Json.write(written), "config"));
    }
  }

  @Test
  void manifestsRoundTripWithAnnotations() {
    ImageManifest written = new ImageManifest(2, MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT,
        Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, D1, 812),
        List.of(Descriptor.of(MediaTypes.SNAPSHOT_INDEX, D2, 4_000_000), Descriptor.of(MediaTypes.SNAPSHOT_PACK, D1, 33_000_000)),
        Map.of("org.opencontainers.image.created", "2026-11-27T21:00:00Z"));
    assertEquals(written, Json.readManifest(Json.write(written), "manifest"));
  }

  @Test
  void foreignFieldsAreIgnoredAndMissingOnesAreAbsent() {
    ImageManifest m = Json.readManifest(("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:00\",\"size\":3,"
        + "\"urls\":[\"http://x\"]},\"subject\":{\"digest\":\"y\"},\"extra\":[1,2]}").getBytes(StandardCharsets.UTF_8), "manifest");
    assertEquals(2, m.schemaVersion());
    assertNull(m.artifactType());
    assertEquals(3, m.config().size());
    assertEquals(List.of(), m.layers());
  }

  @Test
  void aFieldOfTheWrongTypeIsAnIntegrityFailureNamingIt() {
    for (String json : new String[] {
        "{\"schemaVersion\":\"2\"}", "{\"config\":[]}", "{\"layers\":{}}", "{\"layers\":[{\"size\":\"big\"}]}",
        "{\"layers\":[{\"size\":1.5}]}", "{\"annotations\":{\"a\":1}}", "[]", "null", "{", "{\"config\":{\"size\":null}}"}) {
      CachemountException e = assertThrows(CachemountException.class, () -> Json.readManifest(json.getBytes(StandardCharsets.UTF_8), "manifest of x"),
          json);
      assertEquals(FailureKind.INTEGRITY, e.kind(), json);
      assertTrue(e.getMessage().startsWith("manifest of x is "), e.getMessage());
    }
    CachemountException e = assertThrows(CachemountException.class,
        () -> Json.readConfig("{\"counts\":{\"files\":\"many\"}}".getBytes(StandardCharsets.UTF_8), "config of x"));
    assertTrue(e.getMessage().contains("config.counts.files"), e.getMessage());
  }
}
