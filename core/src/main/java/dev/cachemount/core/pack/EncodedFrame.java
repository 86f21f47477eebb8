package dev.cachemount.core.pack;

import dev.cachemount.core.index.FrameEncoding;
import java.util.List;

/**
 * A frame ready to be appended to a pack. Its {@code data} array may be a buffer its producer reuses
 * (see {@link FrameCompressor#encode}): consume it before asking for the next frame.
 *
 * @param data holds the stored bytes in {@code [0, storedLength)}
 * @param rawLength the bytes of chunk data the frame holds
 * @param chunks the chunks, in order; their lengths sum to {@code rawLength}
 */
public record EncodedFrame(byte[] data, int storedLength, int rawLength, FrameEncoding encoding, List<ChunkRef> chunks) {
  public EncodedFrame {
    chunks = List.copyOf(chunks);
  }
}
