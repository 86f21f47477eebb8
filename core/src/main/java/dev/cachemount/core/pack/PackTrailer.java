package dev.cachemount.core.pack;

import dev.cachemount.core.CachemountException;
import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.VarInts;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The trailer at the end of every pack: it lists the pack's frames and their chunks, so that a pack
 * describes itself without the index (docs/format.md, "Pack"). Layout: the payload, then its length
 * as a 4-byte big-endian integer, then the 4 bytes {@code CMPK}.
 */
public final class PackTrailer {
  static final byte[] MAGIC = {'C', 'M', 'P', 'K'};
  static final int VERSION = 1;
  /** Bytes after the payload: its length and the magic. */
  public static final int FOOTER = 8;

  /** A frame as the trailer describes it. */
  public record FrameInfo(int storedLength, int rawLength, FrameEncoding encoding, List<ChunkRef> chunks) {
    public FrameInfo {
      chunks = List.copyOf(chunks);
    }
  }

  private PackTrailer() {}

  /** The trailer bytes (payload and footer) for these frames. */
  public static byte[] encode(List<FrameInfo> frames) {
    VarInts.Writer w = new VarInts.Writer(64 + frames.size() * 64);
    w.bytes(MAGIC).varint(VERSION).varint(frames.size());
    byte[] raw = new byte[Digest.LENGTH];
    for (FrameInfo f : frames) {
      w.varint(f.storedLength()).varint(f.rawLength()).u8(f.encoding().code()).varint(f.chunks().size());
      for (ChunkRef c : f.chunks()) {
        c.digest().copyTo(raw, 0);
        w.bytes(raw).varint(c.length());
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
    int count = r.varintInt(0, r.remaining() / 4, "frame count");
    List<FrameInfo> frames = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int stored = r.varintInt(1, Integer.MAX_VALUE, "stored length");
      int rawLength = r.varintInt(1, FormatLimits.MAX_FRAME, "raw length");
      FrameEncoding encoding = FrameEncoding.ofCode(r.u8());
      if (encoding == null) {
        throw r.corrupt("unknown frame encoding");
      }
      int chunkCount = r.varintInt(1, r.remaining() / (Digest.LENGTH + 1), "chunk count");
      List<ChunkRef> chunks = new ArrayList<>(chunkCount);
      for (int c = 0; c < chunkCount; c++) {
        Digest d = Digest.ofRaw(r.bytes(Digest.LENGTH));
        chunks.add(new ChunkRef(d, r.varintInt(1, FormatLimits.MAX_CHUNK, "chunk length")));
      }
      frames.add(new FrameInfo(stored, rawLength, encoding, chunks));
    }
    r.expectEnd();
    return frames;
  }
}
