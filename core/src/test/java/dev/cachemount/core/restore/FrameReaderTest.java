package dev.cachemount.core.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.store.BlobSource;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The readers of a restore: every needed frame once, verified, with memory bounded however much is read. */
class FrameReaderTest {
  private static final int FRAME = 16 << 10;
  private static final int FRAMES = 2048; // 32 MiB: twice the readers' room

  @Test
  void deliversEveryFrameOfMoreThanItsRoomAndReadsAtMostThatFarAheadOfTheWriter() {
    byte[] pack = new byte[FRAMES * FRAME];
    new Random(3).nextBytes(pack);
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    int p = b.addPack(Digest.of(pack), pack.length);
    for (int f = 0; f < FRAMES; f++) {
      int frame = b.addFrame(p, (long) f * FRAME, FRAME, FRAME, FrameEncoding.RAW);
      b.addChunk(Digest.of(pack, f * FRAME, FRAME), frame, 0, FRAME);
    }
    SnapshotIndex index = b.build();
    int[][] chunksOfFrame = new int[FRAMES][];
    for (int c = 0; c < index.chunkCount(); c++) {
      chunksOfFrame[index.chunkFrame(c)] = new int[] {c};
    }
    List<Integer> all = new ArrayList<>();
    for (int f = 0; f < FRAMES; f++) {
      all.add(f);
    }
    AtomicLong served = new AtomicLong();
    BlobSource source = (digest, size) -> new FilterInputStream(new ByteArrayInputStream(pack)) {
      @Override
      public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, Math.min(length, FRAME)); // no reader takes more than a frame at once
        if (n > 0) {
          served.addAndGet(n);
        }
        return n;
      }
    };
    FrameReader.Needs needs = new FrameReader.Needs() {
      @Override
      public List<Integer> frames(int packNumber) {
        return all;
      }

      @Override
      public int[] chunks(int frame) {
        return chunksOfFrame[frame];
      }
    };
    boolean[] seen = new boolean[FRAMES];
    long[] written = {0};
    long[] mostAhead = {0};
    long read = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> new FrameReader(source, index, 4).read(needs, decoded -> {
      int f = decoded.frame();
      assertTrue(!seen[f], "frame " + f + " once");
      seen[f] = true;
      assertArrayEquals(Arrays.copyOfRange(pack, f * FRAME, (f + 1) * FRAME), Arrays.copyOf(decoded.data(), FRAME));
      mostAhead[0] = Math.max(mostAhead[0], served.get() - written[0]);
      written[0] += FRAME;
      if (f % 64 == 0) {
        try {
          Thread.sleep(1); // a slow writer: the readers fill their room
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
      }
    }, "test"));
    assertEquals(pack.length, read);
    for (int f = 0; f < FRAMES; f++) {
      assertTrue(seen[f], "frame " + f + " delivered");
    }
    // 16 MiB of decoded frames in flight at most, plus what each of the four readers holds while it waits for room.
    assertTrue(mostAhead[0] <= (16 << 20) + 4L * FRAME, "read " + mostAhead[0] + " bytes ahead of the writer");
    assertTrue(mostAhead[0] >= (8 << 20), "the readers did run ahead of a slow writer: " + mostAhead[0]);
  }
}
