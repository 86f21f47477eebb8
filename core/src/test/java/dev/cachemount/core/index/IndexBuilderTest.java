package dev.cachemount.core.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.cachemount.core.blob.Digest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The builder of a push's index, which takes the parent's chunks by number and new ones by digest. */
class IndexBuilderTest {
  private static Digest d(int i) {
    return Digest.of(new byte[] {(byte) i, (byte) (i >> 8)});
  }

  private static List<Digest> chunksOf(SnapshotIndex index, String path) {
    Entry e = index.entries().stream().filter(x -> x.path().equals(path)).findFirst().orElseThrow();
    List<Digest> digests = new ArrayList<>();
    for (int c = 0; c < e.chunkCount(); c++) {
      digests.add(index.chunkDigest(e.chunk(c)));
    }
    return digests;
  }

  @Test
  void parentChunksByNumberAndNewChunksByDigestMergeInDigestOrder() {
    SnapshotIndex parent = IndexCodecTest.sample(); // chunks d(1) … d(4) in three frames of two packs
    int one = parent.findChunk(d(1));
    int two = parent.findChunk(d(2));
    int three = parent.findChunk(d(3));
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    b.useParent(parent);
    int kept = b.addPack(parent.packs().get(0).digest(), parent.packs().get(0).size());
    SnapshotIndex.Frame f0 = parent.frames().get(parent.chunkFrame(one));
    SnapshotIndex.Frame f1 = parent.frames().get(parent.chunkFrame(three));
    b.addParentChunk(one, b.addFrame(kept, f0.offset(), f0.storedLength(), f0.rawLength(), f0.encoding()));
    b.addParentChunk(three, b.addFrame(kept, f1.offset(), f1.storedLength(), f1.rawLength(), f1.encoding()));
    int fresh = b.addFrame(b.addPack(d(200), 100), 0, 100, 3000, FrameEncoding.ZSTD);
    b.addChunk(d(5), fresh, 0, 500);
    b.addChunk(d(2), fresh, 500, 2000); // a parent chunk packed anew (its pack compacted)
    b.addChunk(d(6), fresh, 2500, 500);
    b.addFileOfParentChunks("kept", 0644, 5000, 1, 0, new int[] {one, three, two});
    b.addFile("read", 0644, 4000, 1, 0, new Digest[] {d(5), d(3), d(6), d(1)});

    SnapshotIndex index = b.build(); // validates: chunk digests strictly increasing, every reference placed

    assertEquals(5, index.chunkCount());
    assertEquals(List.of(d(1), d(3), d(2)), chunksOf(index, "kept"));
    assertEquals(List.of(d(5), d(3), d(6), d(1)), chunksOf(index, "read"));
    assertEquals(parent.chunkLength(three), index.chunkLength(index.findChunk(d(3))));
    assertEquals(parent.chunkOffset(three), index.chunkOffset(index.findChunk(d(3))));
    assertEquals(500, index.chunkOffset(index.findChunk(d(2))), "the new place, not the parent's");
  }

  @Test
  void aChunkPlacedFromTheParentAndByDigestOrNeverIsRefused() {
    SnapshotIndex parent = IndexCodecTest.sample();
    SnapshotIndex.Builder twice = new SnapshotIndex.Builder();
    twice.useParent(parent);
    int frame = twice.addFrame(twice.addPack(d(200), 100), 0, 100, 3000, FrameEncoding.ZSTD);
    twice.addParentChunk(parent.findChunk(d(1)), frame);
    twice.addChunk(d(1), frame, 0, 1000);
    assertThrows(IllegalStateException.class, twice::build);

    SnapshotIndex.Builder never = new SnapshotIndex.Builder();
    never.useParent(parent);
    never.addFileOfParentChunks("f", 0644, 1000, 1, 0, new int[] {parent.findChunk(d(1))});
    IllegalStateException e = assertThrows(IllegalStateException.class, never::build);
    assertEquals(true, e.getMessage().contains("never placed"), e.getMessage());
  }
}
