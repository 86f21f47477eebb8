package dev.cachemount.core.store;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Snapshot indexes this machine fetched from a registry or pushed to one, by digest, so that the next
 * push or pull that needs one of them reads it here instead of downloading it again. The common CI
 * job pulls its cache first and pushes it last: the push's parent is then the snapshot the pull
 * fetched, and its index (about 1% of the cache: megabytes, tens of them for a large cache) is
 * already on disk.
 *
 * <p>A cache, never a source of truth: an entry is used only when its bytes match the digest the
 * manifest names (checked on every read, by {@link #get} or by the caller of {@link #getUnchecked};
 * an entry that does not is deleted), and every failure to
 * read or write here is a miss, never an error. Entries are written to a temporary name and renamed;
 * the {@link #KEEP} most recently used stay, within {@link #KEEP_BYTES}. Thread- and process-safe.
 */
public final class IndexCache {
  /** The entries kept: about as many caches as one machine pushes and pulls in turn. */
  static final int KEEP = 8;
  /** The bytes kept, at most. */
  static final long KEEP_BYTES = 256L << 20;
  /** Indexes larger than this are not kept (the format allows 256 MiB). */
  static final int MAX_ENTRY = 64 << 20;
  private static final String TEMP_PREFIX = ".tmp-";

  /** A cache that holds nothing: for stores on this machine, whose indexes are on disk already. */
  public static final IndexCache NONE = new IndexCache(null);

  private final Path dir;

  private IndexCache(Path dir) {
    this.dir = dir;
  }

  /** A cache in {@code dir}, created when first written. */
  public static IndexCache at(Path dir) {
    return new IndexCache(dir);
  }

  /** The index {@code digest} names, when this machine holds it with that size and digest. */
  public Optional<byte[]> get(Digest digest, long size) {
    Optional<byte[]> bytes = getUnchecked(digest, size);
    if (bytes.isPresent() && !Digest.of(bytes.get()).equals(digest)) {
      discard(digest);
      return Optional.empty();
    }
    return bytes;
  }

  /**
   * The bytes this machine holds for {@code digest}, when they have that size, not yet checked
   * against the digest: the caller checks them before it uses anything read from them, and calls
   * {@link #discard} when they do not match.
   */
  public Optional<byte[]> getUnchecked(Digest digest, long size) {
    if (dir == null || size < 0 || size > MAX_ENTRY) {
      return Optional.empty();
    }
    Path file = dir.resolve(digest.hex());
    try {
      if (Files.size(file) != size) {
        Files.deleteIfExists(file);
        return Optional.empty();
      }
      byte[] bytes = Files.readAllBytes(file);
      try {
        Files.setLastModifiedTime(file, FileTime.from(Instant.now())); // most recently used
      } catch (IOException e) {
        // a directory this user cannot write: the entry is good, only its place in the order is not kept
      }
      return Optional.of(bytes);
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // absent, pruned meanwhile, unreadable: a miss
    }
  }

  /** Deletes the entry for {@code digest}: its bytes did not match the digest. */
  public void discard(Digest digest) {
    if (dir == null) {
      return;
    }
    try {
      Files.deleteIfExists(dir.resolve(digest.hex()));
    } catch (IOException e) {
      // a miss all the same: the next reader checks the bytes again
    }
  }

  /** Keeps {@code bytes}, the index {@code digest} names (checked by the caller), for a later push or pull. */
  public void put(Digest digest, byte[] bytes) {
    if (dir == null || bytes.length > MAX_ENTRY) {
      return;
    }
    Path temp = null;
    try {
      Files.createDirectories(dir);
      temp = Files.createTempFile(dir, TEMP_PREFIX, "");
      Files.write(temp, bytes);
      Files.move(temp, dir.resolve(digest.hex()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temp = null;
      prune();
    } catch (IOException | RuntimeException e) {
      // not kept: the next push or pull fetches the index from the registry, as without a cache
    } finally {
      if (temp != null) {
        try {
          Files.deleteIfExists(temp);
        } catch (IOException e) {
          // left for the next prune
        }
      }
    }
  }

  /** Deletes all but the most recently used entries, and temporary files an hour old (a process killed while writing). */
  private void prune() throws IOException {
    record Kept(Path file, long size, FileTime used) {}
    List<Kept> entries = new ArrayList<>();
    FileTime staleTemp = FileTime.from(Instant.now().minusSeconds(3600));
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        try {
          FileTime used = Files.getLastModifiedTime(f);
          if (f.getFileName().toString().startsWith(TEMP_PREFIX)) {
            if (used.compareTo(staleTemp) < 0) {
              Files.deleteIfExists(f);
            }
          } else {
            entries.add(new Kept(f, Files.size(f), used));
          }
        } catch (NoSuchFileException e) {
          // another process pruned it
        }
      }
    }
    entries.sort(Comparator.comparing(Kept::used).reversed());
    long bytes = 0;
    for (int i = 0; i < entries.size(); i++) {
      bytes += entries.get(i).size();
      if (i >= KEEP || bytes > KEEP_BYTES) {
        Files.deleteIfExists(entries.get(i).file());
      }
    }
  }
}
