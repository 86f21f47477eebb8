package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Snapshots built to attack the puller, crafted here from a real one with the format's own code: a
 * file name in the index payload is replaced byte for byte, the payload recompressed and the
 * manifest rewritten to name the new index. Every one is refused before anything is written.
 */
class HostileSnapshotTest {
  @TempDir Path dir;
  Path store;
  Cachemount client;

  @BeforeEach
  void setUp() throws IOException {
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree);
    Files.writeString(tree.resolve("zzzz"), "payload that must not land outside the target");
    store = dir.resolve("store");
    client = Cachemount.builder().home(dir).env(Map.of()).build();
    client.push(client.parseSpec("id=good,dir=" + store + ",target=" + tree), OperationListener.NONE);
  }

  /** Stores, under {@code tag}, the good snapshot with its file renamed to {@code name} (same length). */
  private void craft(String tag, String name) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      LoadedSnapshot good = new SnapshotReader(s, s).load("good", "good").orElseThrow();
      Descriptor indexLayer = good.manifest().layers().get(0);
      byte[] blob;
      try (var in = s.openBlob(Digest.parse(indexLayer.digest()), indexLayer.size())) {
        blob = in.readAllBytes();
      }
      byte[] payload = Zstd.decompress(blob, (int) Zstd.getFrameContentSize(blob));
      byte[] from = "zzzz".getBytes(StandardCharsets.UTF_8);
      byte[] to = name.getBytes(StandardCharsets.UTF_8);
      assertEquals(from.length, to.length);
      int at = indexOf(payload, from);
      assertTrue(at >= 0 && indexOf(java.util.Arrays.copyOfRange(payload, at + 1, payload.length), from) < 0, "the name occurs once");
      System.arraycopy(to, 0, payload, at, to.length);
      byte[] hostile = Zstd.compress(payload, 3);
      s.putBlob(Digest.of(hostile), hostile);
      List<Descriptor> layers = new ArrayList<>(good.manifest().layers());
      layers.set(0, Descriptor.of(MediaTypes.SNAPSHOT_INDEX, Digest.of(hostile), hostile.length));
      ImageManifest m = good.manifest();
      s.putManifest(tag, ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(
          new ImageManifest(m.schemaVersion(), m.mediaType(), m.artifactType(), m.config(), layers, m.annotations()))));
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @ParameterizedTest
  @ValueSource(strings = {"../x", "/etc", "a\\bc", "a\0bc", "a//b", "./ab", "ab/.", "abc/"})
  void aPathThatCouldEscapeOrAliasIsRefusedAndNothingIsWritten(String name) throws IOException {
    craft("hostile", name);
    Path target = dir.resolve("work/target");
    CachemountException e = assertThrows(CachemountException.class,
        () -> client.pull(client.parseSpec("id=hostile,dir=" + store + ",target=" + target), OperationListener.NONE));
    assertEquals(FailureKind.INTEGRITY, e.kind(), e.getMessage());
    assertFalse(Files.exists(target), "the target was not even created");
    assertFalse(Files.exists(dir.resolve("work/x")) || Files.exists(dir.resolve("x")), "nothing outside");
    assertTrue(e.getMessage().contains("Nothing wrong was written"), e.getMessage());
  }

  @Test
  void theCraftingItselfWorks() throws IOException {
    craft("renamed", "yyyy");
    Path target = dir.resolve("target");
    client.pull(client.parseSpec("id=renamed,dir=" + store + ",target=" + target), OperationListener.NONE);
    assertEquals("payload that must not land outside the target", Files.readString(target.resolve("yyyy")));
  }
}
