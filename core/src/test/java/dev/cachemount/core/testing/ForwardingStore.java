package dev.cachemount.core.testing;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.store.IndexCache;
import dev.cachemount.core.store.BlobPut;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/** A store that forwards every call to another; tests override a method to inject a fault or a race. */
public class ForwardingStore implements SnapshotStore {
  protected final SnapshotStore delegate;

  public ForwardingStore(SnapshotStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public InputStream openBlob(Digest digest, long size) throws IOException {
    return delegate.openBlob(digest, size);
  }

  @Override
  public Path newStagingDirectory() throws IOException {
    return delegate.newStagingDirectory();
  }

  @Override
  public boolean hasBlob(Digest digest) throws IOException {
    return delegate.hasBlob(digest);
  }

  @Override
  public BlobPut putBlob(Digest digest, long size, Path file) throws IOException {
    return delegate.putBlob(digest, size, file);
  }

  @Override
  public BlobPut putBlob(Digest digest, byte[] content) throws IOException {
    return delegate.putBlob(digest, content);
  }

  @Override
  public boolean claimsKnownBlobs() {
    return delegate.claimsKnownBlobs();
  }

  @Override
  public BlobPut claimBlob(Digest digest, long size, Optional<String> fromRepository) throws IOException {
    return delegate.claimBlob(digest, size, fromRepository);
  }

  @Override
  public Optional<ManifestBytes> fetchManifest(String reference) throws IOException {
    return delegate.fetchManifest(reference);
  }

  @Override
  public java.util.List<String> listTags() throws IOException {
    return delegate.listTags();
  }

  @Override
  public long putManifest(String tag, ManifestBytes manifest) throws IOException {
    return delegate.putManifest(tag, manifest);
  }

  @Override
  public dev.cachemount.core.store.TagRemoval removeTags(java.util.Map<String, Digest> tags) throws IOException {
    return delegate.removeTags(tags);
  }

  @Override
  public long putChildManifest(ManifestBytes manifest) throws IOException {
    return delegate.putChildManifest(manifest);
  }

  @Override
  public String describe(String tag) {
    return delegate.describe(tag);
  }

  @Override
  public IndexCache indexCache() {
    return delegate.indexCache();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }
}
