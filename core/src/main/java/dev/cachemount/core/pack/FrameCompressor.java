package dev.cachemount.core.pack;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import dev.cachemount.core.index.FrameEncoding;
import java.util.List;

/**
 * Compresses frames with one reused zstd context. A frame that does not shrink is stored raw. Not
 * thread-safe: one instance per worker thread; {@link #close()} frees the native context.
 */
public final class FrameCompressor implements AutoCloseable {
  private final ZstdCompressCtx ctx;
  private byte[] out = new byte[0];

  public FrameCompressor(int level) {
    this.ctx = new ZstdCompressCtx();
    ctx.setLevel(level);
    ctx.setContentSize(true);
    ctx.setChecksum(false);
  }

  /**
   * Encodes {@code raw[0, length)}, the concatenation of {@code chunks}. The result's bytes are this
   * compressor's buffer or {@code raw} itself, not copies: they are valid until the next call or
   * until the caller changes {@code raw}, so a caller writes the frame before encoding the next.
   */
  public EncodedFrame encode(byte[] raw, int length, List<ChunkRef> chunks) {
    int bound = bound(length);
    if (out.length < bound) {
      out = new byte[bound];
    }
    return encodeInto(raw, length, chunks, out);
  }

  /**
   * Encodes {@code raw[0, length)} as {@link #encode} does, into {@code out} (at least {@link
   * #bound} of {@code length} bytes) instead of this compressor's buffer: the result's bytes are
   * {@code out} or {@code raw}, the caller's.
   */
  public EncodedFrame encodeInto(byte[] raw, int length, List<ChunkRef> chunks, byte[] out) {
    int n = ctx.compressByteArray(out, 0, out.length, raw, 0, length);
    if (n < length) {
      return new EncodedFrame(out, n, length, FrameEncoding.ZSTD, chunks);
    }
    return new EncodedFrame(raw, length, length, FrameEncoding.RAW, chunks);
  }

  /** The most bytes zstd may need for a frame of {@code length} raw bytes. */
  public static int bound(int length) {
    return (int) Zstd.compressBound(length);
  }

  @Override
  public void close() {
    ctx.close();
  }
}
