package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.IndexCodec;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.ImageManifest;
import dev.cachemount.core.oci.Json;
import dev.cachemount.core.oci.MediaTypes;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.testing.RecordingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stored snapshot that lies about a chunk's length, consistently (its file's size and its config's
 * byte count adjusted to match, so that it loads): the next push of the id must not take the lie
 * into the new snapshot. Crafted from a real snapshot with the format's own code.
 */
class LyingParentTest {
  @TempDir Path dir;

  @Test
  void aChunkWhoseStoredLengthIsNotItsContentsIsPackedAnewAndTheDamageNamed() throws IOException {
    Path tree = dir.resolve("tree");
    Files.createDirectories(tree);
    byte[] content = new byte[1000]; // under the chunker's minimum: one chunk
    new Random(7).nextBytes(content);
    Files.write(tree.resolve("a.bin"), content);
    Path store = dir.resolve("store");
    Cachemount client = Cachemount.builder().home(dir).env(Map.of()).build();
    String spec = "id=m2,dir=" + store + ",target=";
    client.push(client.parseSpec(spec + tree), OperationListener.NONE);
    storeWithChunkLengthOff(store, "m2", -100);

    RecordingListener listener = new RecordingListener();
    OperationResult pushed = client.push(client.parseSpec(spec + tree), listener);

    assertEquals(Outcome.PUSHED, pushed.result());
    assertTrue(listener.warnings().stream().anyMatch(w -> w.contains("oci:" + store + ":m2") && w.contains("damaged")
        && w.contains("packed anew")), listener.warnings().toString());
    Path out = dir.resolve("out");
    client.pull(client.parseSpec(spec + out), OperationListener.NONE);
    assertArrayEquals(content, Files.readAllBytes(out.resolve("a.bin")));
  }

  /** Stores under {@code tag} the snapshot there with its one file's chunk, and so the file, {@code more} bytes longer (or shorter). */
  private static void storeWithChunkLengthOff(Path store, String tag, int more) throws IOException {
    try (LayoutStore s = new LayoutStore(store)) {
      LoadedSnapshot good = new SnapshotReader(s, s).load(tag, tag).orElseThrow();
      SnapshotIndex index = good.index();
      assertEquals(1, index.chunkCount());
      SnapshotIndex.Builder lie = new SnapshotIndex.Builder();
      for (SnapshotIndex.PackRef p : index.packs()) {
        lie.addPack(p.digest(), p.size());
      }
      for (SnapshotIndex.Frame f : index.frames()) {
        lie.addFrame(f.pack(), f.offset(), f.storedLength(), f.rawLength(), f.encoding());
      }
      lie.addChunk(index.chunkDigest(0), index.chunkFrame(0), index.chunkOffset(0), index.chunkLength(0) + more);
      for (Entry e : index.entries()) {
        if (e.type() == EntryType.FILE) {
          lie.addFile(e.path(), e.mode(), e.size() + more, e.mtimeSeconds(), e.mtimeNanos(), new Digest[] {index.chunkDigest(0)});
        } else {
          lie.addEntry(e);
        }
      }
      byte[] indexBlob = IndexCodec.encode(lie.build(), 3);
      s.putBlob(Digest.of(indexBlob), indexBlob);
      ObjectNode config = (ObjectNode) Json.mapper().readTree(Json.write(good.config()));
      ObjectNode counts = (ObjectNode) config.get("counts");
      counts.put("bytes", counts.get("bytes").asLong() + more);
      config.remove("treeDigest"); // describes the true tree
      byte[] configBlob = Json.mapper().writeValueAsBytes(config);
      s.putBlob(Digest.of(configBlob), configBlob);
      ImageManifest m = good.manifest();
      List<Descriptor> layers = new ArrayList<>(m.layers());
      layers.set(0, Descriptor.of(MediaTypes.SNAPSHOT_INDEX, Digest.of(indexBlob), indexBlob.length));
      s.putManifest(tag, ManifestBytes.of(MediaTypes.OCI_MANIFEST, Json.write(new ImageManifest(m.schemaVersion(), m.mediaType(),
          m.artifactType(), Descriptor.of(MediaTypes.SNAPSHOT_CONFIG, Digest.of(configBlob), configBlob.length), layers, m.annotations()))));
    }
  }
}
