package dev.cachemount.core.pack;

import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.cachemount.core.CachemountException;
import dev.cachemount.core.index.FormatLimits;
import dev.cachemount.core.index.FrameEncoding;

/**
 * Decodes stored frames into a caller's buffer, never writing more than the frame's declared raw
 * length and refusing zstd windows above {@link FormatLimits#MAX_WINDOW_LOG}. Not thread-safe: one
 * instance per thread; {@link #close()} frees the native context.
 */
public final class FrameDecoder implements AutoCloseable {
  private final ZstdDecompressCtx ctx;

  public FrameDecoder() {
    this.ctx = new ZstdDecompressCtx();
    ctx.setLongMax(FormatLimits.MAX_WINDOW_LOG);
  }

  /**
   * Decodes {@code stored[offset, offset+storedLength)} into {@code target[0, rawLength)}.
   *
   * @param what names the frame in an error message (asked only when there is one)
   * @throws CachemountException of kind INTEGRITY when the bytes do not decode to exactly rawLength
   */
  public void decode(FrameEncoding encoding, byte[] stored, int offset, int storedLength, byte[] target, int rawLength, java.util.function.Supplier<String> what) {
    if (target.length < rawLength) {
      throw new IllegalArgumentException("target buffer too small");
    }
    if (encoding == FrameEncoding.RAW) {
      if (storedLength != rawLength) {
        throw CachemountException.integrity(what.get() + ": raw frame of " + storedLength + " bytes declared as " + rawLength);
      }
      System.arraycopy(stored, offset, target, 0, rawLength);
      return;
    }
    int n;
    try {
      ctx.reset();
      ctx.setLongMax(FormatLimits.MAX_WINDOW_LOG);
      n = ctx.decompressByteArray(target, 0, rawLength, stored, offset, storedLength);
    } catch (ZstdException e) {
      throw CachemountException.integrity(what.get() + " does not decompress: " + e.getMessage(), e);
    }
    if (n != rawLength) {
      throw CachemountException.integrity(what.get() + " decompressed to " + n + " bytes, not the declared " + rawLength);
    }
  }

  @Override
  public void close() {
    ctx.close();
  }
}
