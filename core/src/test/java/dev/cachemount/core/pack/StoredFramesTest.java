package dev.cachemount.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.store.BlobRange;
import dev.cachemount.core.store.BlobSource;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Review of 9d160c5: frames across many requests, passed over, neighbours merged, read back byte for byte. */
class StoredFramesTest {
  @Test
  void readsAnyAscendingSubsetAcrossRequests() throws IOException {
    Random random = new Random(5);
    byte[] blob = new byte[12 << 20];
    random.nextBytes(blob);
    List<List<BlobRange>> requests = new ArrayList<>();
    BlobSource source = new BlobSource() {
      @Override
      public InputStream openBlob(Digest d, long size) {
        return new ByteArrayInputStream(blob);
      }

      @Override
      public InputStream openRanges(Digest d, long size, List<BlobRange> ranges) throws IOException {
        requests.add(List.copyOf(ranges));
        return BlobSource.super.openRanges(d, size, ranges);
      }
    };
    for (int trial = 0; trial < 200; trial++) {
      List<SnapshotIndex.Frame> frames = new ArrayList<>();
      long at = random.nextInt(1000);
      while (true) {
        int len = 1 + random.nextInt(random.nextBoolean() ? 100 : 60_000);
        if (at + len > blob.length) {
          break;
        }
        frames.add(new SnapshotIndex.Frame(0, at, len, len, FrameEncoding.RAW));
        at += len + (random.nextInt(4) == 0 ? 0 : random.nextInt(random.nextBoolean() ? 40_000 : 100_000));
      }
      requests.clear();
      try (FrameDecoder decoder = new FrameDecoder();
          StoredFrames read = new StoredFrames(source, Digest.of(new byte[0]), blob.length, frames, decoder)) {
        for (SnapshotIndex.Frame f : frames) {
          if (random.nextInt(3) == 0) {
            continue; // passed over
          }
          byte[] raw = read.next(f);
          assertArrayEquals(Arrays.copyOfRange(blob, (int) f.offset(), (int) f.offset() + f.rawLength()), Arrays.copyOf(raw, f.rawLength()),
              "trial " + trial + " frame at " + f.offset());
        }
      }
      for (List<BlobRange> r : requests) {
        assertTrue(r.size() <= StoredFrames.MAX_RANGES_PER_REQUEST, r.size() + " ranges");
      }
    }
  }
}
