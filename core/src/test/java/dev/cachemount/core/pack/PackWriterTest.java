package dev.cachemount.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.FailureKind;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FrameEncoding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackWriterTest {
  @TempDir Path dir;

  @Test
  void framesRoundTripThroughThePackFileAndItsTrailer() throws IOException {
    Random random = new Random(11);
    byte[] text = "a very compressible line of text\n".repeat(2000).getBytes();
    byte[] noise = new byte[40_000];
    random.nextBytes(noise);
    List<byte[]> frames = List.of(text, noise, Arrays.copyOf(text, 100));
    List<EncodedFrame> encoded = new ArrayList<>();
    List<Long> offsets = new ArrayList<>();
    PackWriter.FinishedPack pack;
    try (FrameCompressor compressor = new FrameCompressor(3); PackWriter writer = new PackWriter(dir.resolve("pack"))) {
      for (byte[] raw : frames) {
        int half = raw.length / 2;
        List<ChunkRef> chunks = List.of(new ChunkRef(Digest.of(raw, 0, half), half), new ChunkRef(Digest.of(raw, half, raw.length - half), raw.length - half));
        EncodedFrame f = compressor.encode(raw, raw.length, chunks);
        offsets.add(writer.append(f));
        // The frame's bytes are the compressor's buffer, reused by the next call: keep a copy.
        encoded.add(new EncodedFrame(Arrays.copyOf(f.data(), f.storedLength()), f.storedLength(), f.rawLength(), f.encoding(), f.chunks()));
      }
      pack = writer.finish();
    }
    assertEquals(FrameEncoding.ZSTD, encoded.get(0).encoding());
    assertEquals(FrameEncoding.RAW, encoded.get(1).encoding(), "random bytes do not shrink and are stored raw");
    byte[] file = Files.readAllBytes(pack.file());
    assertEquals(pack.size(), file.length);
    assertEquals(Digest.of(file), pack.digest());

    try (FrameDecoder decoder = new FrameDecoder()) {
      for (int i = 0; i < frames.size(); i++) {
        byte[] out = new byte[frames.get(i).length];
        decoder.decode(encoded.get(i).encoding(), file, (int) (long) offsets.get(i), encoded.get(i).storedLength(), out, out.length, () -> "frame");
        assertArrayEquals(frames.get(i), out);
      }
    }

    byte[] footer = Arrays.copyOfRange(file, file.length - PackTrailer.FOOTER, file.length);
    int length = PackTrailer.payloadLength(footer);
    List<PackTrailer.FrameInfo> trailer = PackTrailer.decode(Arrays.copyOfRange(file, file.length - PackTrailer.FOOTER - length, file.length - PackTrailer.FOOTER));
    assertEquals(pack.frames(), trailer);
    assertEquals(3, trailer.size());
    assertArrayEquals(encoded.get(1).chunks().stream().mapToInt(ChunkRef::length).toArray(), trailer.get(1).chunkLengths());
  }

  @Test
  void decoderRefusesFramesThatDoNotDecodeToTheDeclaredLength() {
    byte[] raw = "hello hello hello hello hello hello".getBytes();
    EncodedFrame f;
    try (FrameCompressor compressor = new FrameCompressor(3)) {
      f = compressor.encode(raw, raw.length, List.of(new ChunkRef(Digest.of(raw), raw.length)));
    }
    try (FrameDecoder decoder = new FrameDecoder()) {
      byte[] out = new byte[raw.length + 10];
      CachemountException e = assertThrows(CachemountException.class,
          () -> decoder.decode(FrameEncoding.ZSTD, f.data(), 0, f.storedLength(), out, raw.length - 1, () -> "frame"));
      assertEquals(FailureKind.INTEGRITY, e.kind());
      byte[] garbage = f.data().clone();
      garbage[garbage.length / 2] ^= 0x55;
      garbage[0] ^= 0x01;
      assertThrows(CachemountException.class, () -> decoder.decode(FrameEncoding.ZSTD, garbage, 0, garbage.length, out, raw.length, () -> "frame"));
    }
  }

  @Test
  void anUnfinishedPackIsDeletedOnClose() throws IOException {
    Path file = dir.resolve("unfinished");
    try (PackWriter writer = new PackWriter(file)) {
      writer.append(new EncodedFrame(new byte[] {1, 2, 3}, 3, 3, FrameEncoding.RAW, List.of(new ChunkRef(Digest.of(new byte[] {1, 2, 3}), 3))));
    }
    assertFalse(Files.exists(file));
  }

  @Test
  void trailerFooterIsChecked() {
    assertThrows(CachemountException.class, () -> PackTrailer.payloadLength(new byte[8]));
  }
}
