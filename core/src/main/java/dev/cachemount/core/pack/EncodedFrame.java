package dev.cachemount.core.pack;

import dev.cachemount.core.index.FrameEncoding;
import java.util.List;

/**
 * A frame ready to be appended to a pack.
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
