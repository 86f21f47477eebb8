package dev.cachemount.core.store;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.io.InputStream;

/** Reads blobs from a store. Implementations are thread-safe. */
public interface BlobSource {
  /**
   * Opens a blob for reading from its first byte. The caller closes the stream and checks what it
   * reads against the digest: a source does not promise verified bytes.
   *
   * @param size the size its descriptor declares; the stream never yields more
   * @throws dev.cachemount.core.CachemountException of kind INTEGRITY when the store lacks the blob
   */
  InputStream openBlob(Digest digest, long size) throws IOException;
}
