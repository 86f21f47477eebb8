package dev.cachemount.core.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.BlobSource;
import dev.cachemount.core.store.RangeSetStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StoredChunksTest {
  private static final int FRAME = 4096;
  private static final int FRAMES = 6000;

  /**
   * A 24 MiB pack of which every tenth frame is used (36 KiB apart, beyond the merge gap): each
   * request asks for a bounded number of ranges, as a restore's do, not ~600 in one Range header of
   * ~10 KB (which proxies in front of registries refuse: nginx's default is 8 KiB per header line).
   */
  @Test
  void readsAScatteredPackInRequestsOfBoundedRanges() throws IOException {
    byte[] pack = new byte[FRAMES * FRAME];
    new Random(3).nextBytes(pack);
    MessageDigest md = Digest.newMessageDigest();
    Digest packDigest = Digest.of(pack);
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int p = b.addPack(packDigest, pack.length);
    Digest[] chunks = new Digest[FRAMES];
    for (int f = 0; f < FRAMES; f++) {
      int frame = b.addFrame(p, (long) f * FRAME, FRAME, FRAME, FrameEncoding.RAW);
      md.update(pack, f * FRAME, FRAME);
      chunks[f] = Digest.finish(md);
      b.addChunk(chunks[f], frame, 0, FRAME);
    }
    b.addFile("all", 0644, pack.length, 0, 0, chunks);
    SnapshotIndex index = b.build();

    List<Map.Entry<Digest, ChunkReuse.Found>> wanted = new ArrayList<>();
    for (int f = 0; f < FRAMES; f += 10) {
      wanted.add(Map.entry(chunks[f], new ChunkReuse.Found(0, index.findChunk(chunks[f]), ChunkReuse.notOnDisk(0), (long) f * FRAME, FRAME)));
    }
    List<List<BlobRange>> requests = new ArrayList<>();
    BlobSource source = new BlobSource() {
      @Override
      public InputStream openBlob(Digest digest, long size) {
        return new ByteArrayInputStream(pack);
      }

      @Override
      public InputStream openRanges(Digest digest, long size, List<BlobRange> ranges) throws IOException {
        BlobRange.checkSet(ranges, size);
        requests.add(ranges);
        return RangeSetStream.oneByOne(ranges, (offset, length) -> new ByteArrayInputStream(pack, (int) offset, (int) length));
      }
    };
    List<Digest> got = new ArrayList<>();
    StoredChunks.Result result = new StoredChunks(source, index).read(wanted, (c, data, offset) -> {
      md.update(data, offset, c.getValue().length());
      assertEquals(c.getKey(), Digest.finish(md));
      got.add(c.getKey());
    });
    assertEquals(List.of(), result.unread());
    List<Digest> expected = wanted.stream().map(Map.Entry::getKey).toList();
    assertArrayEquals(expected.toArray(), got.toArray(), "every chunk once, in pack order");
    for (List<BlobRange> r : requests) {
      assertTrue(r.size() <= 48 && BlobRange.httpHeader(r).length() <= 2048,
          "a request for " + r.size() + " ranges, Range header of " + BlobRange.httpHeader(r).length() + " bytes");
    }
  }
}
