package dev.cachemount.core.registry;

import com.google.cloud.tools.jib.blob.Blob;
import com.google.cloud.tools.jib.blob.BlobDescriptor;
import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A blob whose digest cachemount already computed when it wrote it. jib-core's own blobs
 * ({@code Blobs.from}) hash their bytes again while they upload them, a second SHA-256 pass over every
 * pack that nothing reads: jib-core commits the upload with the digest it was given, and the registry
 * checks the bytes against that digest itself.
 */
final class KnownBlob implements Blob {
  private static final int BUFFER = 1 << 20;

  private interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  private final Digest digest;
  private final long size;
  private final Content content;

  private KnownBlob(Digest digest, long size, Content content) {
    this.digest = digest;
    this.size = size;
    this.content = content;
  }

  /** The bytes of {@code file}, read anew on each try, in large writes. */
  static KnownBlob ofFile(Digest digest, long size, Path file) {
    return new KnownBlob(digest, size, out -> {
      byte[] buffer = new byte[BUFFER];
      try (InputStream in = Files.newInputStream(file)) {
        for (int n; (n = in.read(buffer)) > 0; ) {
          out.write(buffer, 0, n);
        }
      }
    });
  }

  static KnownBlob ofBytes(Digest digest, byte[] bytes) {
    return new KnownBlob(digest, bytes.length, out -> out.write(bytes));
  }

  @Override
  public BlobDescriptor writeTo(OutputStream out) throws IOException {
    content.writeTo(out);
    return new BlobDescriptor(size, RegistryStore.jib(digest));
  }

  @Override
  public boolean isRetryable() {
    return true;
  }
}
