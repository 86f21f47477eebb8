package dev.cachemount.core.pack;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.VarInts;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The trailer at the end of every pack: it lists the pack's frames and the lengths of their chunks,
 * so that a pack describes itself without the index (docs/format.md, "Pack"): decoding its frames
 * and hashing their chunks recovers every chunk and its digest. Digests are not repeated here; the
 * index holds them, and they would cost about 1% of the stored bytes. Layout: the payload, then its
 * length as a 4-byte big-endian integer, then the 4 bytes {@code CMPK}.
 */
public final class PackTrailer {
  static final byte[] MAGIC = {'C', 'M', 'P', 'K'};
  static final int VERSION = 1;
  /** Bytes after the payload: its length and the magic. */
  public static final int FOOTER = 8;

  /** A frame as the trailer describes it: stored and raw length, encoding, and its chunks' lengths. */
  public record FrameInfo(int storedLength, int rawLength, FrameEncoding encoding, int[] chunkLengths) {
    public FrameInfo {
      chunkLengths = chunkLengths.clone();
    }

    static FrameInfo of(EncodedFrame frame) {
      int[] lengths = new int[frame.chunks().size()];
      for (int i = 0; i < lengths.length; i++) {
        lengths[i] = frame.chunks().get(i).length();
      }
      return new FrameInfo(frame.storedLength(), frame.rawLength(), frame.encoding(), lengths);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof FrameInfo f && storedLength == f.storedLength && rawLength == f.rawLength && encoding == f.encoding
          && Arrays.equals(chunkLengths, f.chunkLengths);
    }

    @Override
    public int hashCode() {
      return (storedLength * 31 + rawLength) * 31 + Arrays.hashCode(chunkLengths);
    }

    @Override
    public String toString() {
      return "FrameInfo[stored=" + storedLength + ", raw=" + rawLength + ", " + encoding + ", chunks=" + Arrays.toString(chunkLengths) + "]";
    }
  }

  private PackTrailer() {}

  /** The trailer bytes (payload and footer) for these frames. */
  public static byte[] encode(List<FrameInfo> frames) {
    VarInts.Writer w = new VarInts.Writer(64 + frames.size() * 16);
    w.bytes(MAGIC).varint(VERSION).varint(frames.size());
    for (FrameInfo f : frames) {
      w.varint(f.storedLength()).varint(f.rawLength()).u8(f.encoding().code()).varint(f.chunkLengths().length);
      for (int length : f.chunkLengths) {
        w.varint(length);
      }
    }
    int payloadLength = w.size();
    w.bytes(ByteBuffer.allocate(4).putInt(payloadLength).array()).bytes(MAGIC);
    return w.toByteArray();
  }

  /** The payload length that a pack's last {@link #FOOTER} bytes declare. */
  public static int payloadLength(byte[] footer) {
    if (footer.length != FOOTER || !Arrays.equals(footer, 4, 8, MAGIC, 0, 4)) {
      throw CachemountException.integrity("pack does not end with a CMPK trailer");
    }
    int length = ByteBuffer.wrap(footer, 0, 4).getInt();
    if (length < MAGIC.length + 2) {
      throw CachemountException.integrity("pack trailer declares an impossible length " + length);
    }
    return length;
  }

  /** Decodes a trailer payload. */
  public static List<FrameInfo> decode(byte[] payload) {
    VarInts.Reader r = new VarInts.Reader(payload, 0, payload.length, "pack trailer");
    if (!Arrays.equals(r.bytes(MAGIC.length), MAGIC)) {
      throw r.corrupt("it does not start with CMPK");
    }
    long version = r.varint();
    if (version != VERSION) {
      throw r.corrupt("unknown pack trailer version " + version);
    }
    int count = r.varintInt(0, r.remaining() / 5, "frame count");
    List<FrameInfo> frames = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int stored = r.varintInt(1, Integer.MAX_VALUE, "stored length");
      int rawLength = r.varintInt(1, FormatLimits.MAX_FRAME, "raw length");
      FrameEncoding encoding = FrameEncoding.ofCode(r.u8());
      if (encoding == null) {
        throw r.corrupt("unknown frame encoding");
      }
      int chunkCount = r.varintInt(1, r.remaining(), "chunk count");
      int[] lengths = new int[chunkCount];
      long sum = 0;
      for (int c = 0; c < chunkCount; c++) {
        lengths[c] = r.varintInt(1, FormatLimits.MAX_CHUNK, "chunk length");
        sum += lengths[c];
      }
      if (sum != rawLength) {
        throw r.corrupt("frame " + i + " holds " + rawLength + " bytes but its chunks " + sum);
      }
      frames.add(new FrameInfo(stored, rawLength, encoding, lengths));
    }
    r.expectEnd();
    return frames;
  }
}
