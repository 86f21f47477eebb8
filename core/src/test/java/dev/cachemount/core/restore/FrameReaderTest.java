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
  private static final int PACKS = 4;
  private static final int FRAMES_PER_PACK = 512; // 4 x 8 MiB: twice the readers' room of 16 MiB
  private static final long ROOM = 16 << 20;

  @Test
  void deliversEveryFrameOfMoreThanItsRoomAndReadsAtMostThatFarAheadOfTheWriter() {
    Random random = new Random(3);
    byte[][] packs = new byte[PACKS][FRAMES_PER_PACK * FRAME];
    SnapshotIndex.Builder b = new SnapshotIndex.Builder();
    for (byte[] pack : packs) {
      random.nextBytes(pack);
      int p = b.addPack(Digest.of(pack), pack.length);
      for (int f = 0; f < FRAMES_PER_PACK; f++) {
        int frame = b.addFrame(p, (long) f * FRAME, FRAME, FRAME, FrameEncoding.RAW);
        b.addChunk(Digest.of(pack, f * FRAME, FRAME), frame, 0, FRAME);
      }
    }
    SnapshotIndex index = b.build();
    int frames = PACKS * FRAMES_PER_PACK;
    int[][] chunksOfFrame = new int[frames][];
    for (int c = 0; c < index.chunkCount(); c++) {
      chunksOfFrame[index.chunkFrame(c)] = new int[] {c};
    }
    List<List<Integer>> framesOfPack = new ArrayList<>();
    for (int p = 0; p < PACKS; p++) {
      List<Integer> list = new ArrayList<>();
      for (int f = 0; f < FRAMES_PER_PACK; f++) {
        list.add(p * FRAMES_PER_PACK + f);
      }
      framesOfPack.add(list);
    }
    AtomicLong served = new AtomicLong();
    BlobSource source = (digest, size) -> {
      byte[] pack = packs[index.packs().stream().map(SnapshotIndex.PackRef::digest).toList().indexOf(digest)];
      return new FilterInputStream(new ByteArrayInputStream(pack)) {
        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
          int n = super.read(buffer, offset, Math.min(length, FRAME)); // no reader takes more than a frame at once
          if (n > 0) {
            served.addAndGet(n);
          }
          return n;
        }
      };
    };
    FrameReader.Needs needs = new FrameReader.Needs() {
      @Override
      public List<Integer> frames(int pack) {
        return framesOfPack.get(pack);
      }

      @Override
      public int[] chunks(int frame) {
        return chunksOfFrame[frame];
      }
    };
    boolean[] seen = new boolean[frames];
    long[] written = {0};
    long[] mostAhead = {0};
    long[] aheadOfAWaitingWriter = {-1};
    long read = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> new FrameReader(source, index, PACKS).read(needs, decoded -> {
      int f = decoded.frame();
      if (aheadOfAWaitingWriter[0] < 0) {
        // The writer holds its first frame until the readers have filled their room (or 20 s pass).
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (served.get() < ROOM - 4L * FRAME && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
        aheadOfAWaitingWriter[0] = served.get();
      }
      assertTrue(!seen[f], "frame " + f + " once");
      seen[f] = true;
      byte[] pack = packs[f / FRAMES_PER_PACK];
      int at = (f % FRAMES_PER_PACK) * FRAME;
      assertArrayEquals(Arrays.copyOfRange(pack, at, at + FRAME), Arrays.copyOf(decoded.data(), FRAME));
      mostAhead[0] = Math.max(mostAhead[0], served.get() - written[0]);
      written[0] += FRAME;
    }, "test"));
    assertEquals((long) PACKS * FRAMES_PER_PACK * FRAME, read);
    for (int f = 0; f < frames; f++) {
      assertTrue(seen[f], "frame " + f + " delivered");
    }
    assertTrue(aheadOfAWaitingWriter[0] >= ROOM - 4L * FRAME, "the readers filled their room while the writer waited: "
        + aheadOfAWaitingWriter[0]);
    // Room is taken before a frame is read, and given back only after it was written.
    assertTrue(mostAhead[0] <= ROOM, "read " + mostAhead[0] + " bytes ahead of the writer");
  }
}
