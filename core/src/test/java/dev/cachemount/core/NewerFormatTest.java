package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.Zstd;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A snapshot that carries a version marker of a later format (docs/format.md, "Compatibility
 * rules"): a new formatVersion, index payload version, media type or chunker algorithm. Only a new
 * formatVersion was told apart from damage: the others made a pull say "malformed, push --force",
 * and a plain push replaced the newer snapshot, so runners of two versions replaced each other's
 * cache. Each is now "upgrade cachemount" (exit 1), and a push leaves it alone. Crafted from a real
 * snapshot with the format's own code.
 */
class NewerFormatTest {
  @TempDir Path dir;
  Path tree;
  Path store;
  Cachemount client;

  @BeforeEach
  void setUp() throws IOException {
    tree = Files.createDirectories(dir.resolve("tree"));
    Files.writeString(tree.resolve("a"), "content\n");
    store = dir.resolve("store");
    client = Cachemount.builder().home(dir).env(Map.of()).build();
    client.push(client.parseSpec("id=m2,dir=" + store + ",target=" + tree), OperationListener.NONE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"formatVersion", "payloadVersion", "indexMediaType", "packMediaType", "chunkerAlgorithm"})
  void aNewerSnapshotIsLeftAloneWithAnUpgradeMessage(String marker) throws IOException {
    byte[] newer = storeNewer(marker);
    Path target = dir.resolve("out");

    CachemountException pull = assertThrows(CachemountException.class,
        () -> client.pull(client.parseSpec("id=m2,dir=" + store + ",target=" + target), OperationListener.NONE));
    assertEquals(FailureKind.OPERATIONAL, pull.kind(), pull.getMessage());
    assertTrue(pull.getMessage().contains("upgrade cachemount") && pull.getMessage().contains("oci:" + store + ":m2")
        && !pull.getMessage().contains("--force"), pull.getMessage());
    assertFalse(Files.exists(target));

    Files.writeString(tree.resolve("b"), "a change\n");
    CachemountException push = assertThrows(CachemountException.class,
        () -> client.push(client.parseSpec("id=m2,dir=" + store + ",target=" + tree), OperationListener.NONE));
    assertEquals(FailureKind.OPERATIONAL, push.kind(), push.getMessage());
    assertTrue(push.getMessage().contains("upgrade cachemount"), push.getMessage());
    try (LayoutStore s = new LayoutStore(store)) {
      assertArrayEquals(newer, s.fetchManifest("m2").orElseThrow().bytes(), "the newer snapshot stays under its tag");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"formatVersion", "payloadVersion", "indexMediaType", "chunkerAlgorithm"})
  void aNewerFromSnapshotIsSkippedWithAWarning(String marker) throws IOException {
    storeNewer(marker);
    dev.cachemount.core.testing.RecordingListener listener = new dev.cachemount.core.testing.RecordingListener();
    OperationResult pushed = client.push(client.parseSpec("id=other,from=m2,dir=" + store + ",target=" + tree), listener);
    assertEquals(Outcome.PUSHED, pushed.result());
    assertTrue(listener.warned("was written by a newer cachemount"), listener.warnings().toString());
  }

  /** Stores under m2 the snapshot there with one version marker of a later format; returns its manifest. */
  private byte[] storeNewer(String marker) throws IOException {
    return storeNewer(store, "m2", marker);
  }

  /** Stores under {@code tag} of the layout {@code store} the snapshot there with one version marker of a later format; returns its manifest. */
  static byte[] storeNewer(Path store, String tag, String marker) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      LoadedSnapshot good = new SnapshotReader(s, s).load(tag, tag).orElseThrow();
      ImageManifest m = good.manifest();
      List<Descriptor> layers = new ArrayList<>(m.layers());
      Descriptor config = m.config();
      switch (marker) {
        case "formatVersion", "chunkerAlgorithm" -> {
          ObjectNode json = (ObjectNode) Json.mapper().readTree(Json.write(good.config()));
          if (marker.equals("formatVersion")) {
            json.put("formatVersion", 2);
          } else {
            ((ObjectNode) json.get("chunker")).put("algorithm", "fastcdc-2030");
          }
          byte[] bytes = Json.mapper().writeValueAsBytes(json);
          s.putBlob(Digest.of(bytes), bytes);
          config = Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, Digest.of(bytes), bytes.length);
        }
        case "payloadVersion" -> {
          Descriptor index = layers.get(0);
          byte[] blob;
          try (var in = s.openBlob(Digest.parse(index.digest()), index.size())) {
            blob = in.readAllBytes();
          }
          byte[] payload = Zstd.decompress(blob, (int) Zstd.getFrameContentSize(blob));
          assertEquals(1, payload[4], "the version follows the magic CMIX");
          payload[4] = 2;
          byte[] newer = Zstd.compress(payload, 3);
          s.putBlob(Digest.of(newer), newer);
          layers.set(0, Descriptor.of(MediaTypes.SNAPSHOT_INDEX, Digest.of(newer), newer.length));
        }
        case "indexMediaType" -> layers.set(0, Descriptor.of("application/vnd.cachemount.index.v2+zstd",
            Digest.parse(layers.get(0).digest()), layers.get(0).size()));
        case "packMediaType" -> layers.set(1, Descriptor.of("application/vnd.cachemount.pack.v2",
            Digest.parse(layers.get(1).digest()), layers.get(1).size()));
        default -> throw new IllegalArgumentException(marker);
      }
      byte[] manifest = Json.write(new ImageManifest(m.schemaVersion(), m.mediaType(), m.artifactType(), config, layers, m.annotations()));
      s.putManifest(tag, ManifestBytes.of(MediaTypes.OCI_MANIFEST, manifest));
      return manifest;
    }
  }
}
