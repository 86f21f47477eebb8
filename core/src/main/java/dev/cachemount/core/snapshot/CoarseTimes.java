package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Modification times on a file system that keeps them coarser than the snapshot does: ext4 with
 * 128-byte inodes, HFS+ and others keep whole seconds, FAT two seconds. A snapshot pushed from a
 * file system of nanoseconds comes back there with its times cut to that granularity, so that no
 * file matched its entry by time: every warm pull wrote every file again, and every push read every
 * file and stored a new snapshot (its times cut).
 *
 * <p>The granularity is the file system's own, measured ({@link #measure}): a time of
 * {@code .123456789} s set on a new file in the directory, and read back. It is measured only when
 * the times a scan saw look coarse (every one a multiple of 10 ns or more, in at least
 * {@link #MIN_ENTRIES} entries), so a scan of a file system of nanoseconds costs one look at its
 * first entries, and a tree whose times are all whole seconds on such a file system (unpacked from a
 * tar archive) is still compared exactly. An entry whose time is the snapshot entry's cut to that
 * granularity, and whose kind, size and link target are the entry's, takes the entry's time, so that
 * it compares equal everywhere after. Where nothing can be measured (a read-only directory), times
 * are compared exactly.
 */
public final class CoarseTimes {
  /** Fewer entries than this tell nothing about the file system's granularity. */
  static final int MIN_ENTRIES = 16;
  private static final long SECOND = 1_000_000_000L;
  /** From coarsest to finest; 1 ns is exact. */
  private static final long[] GRANULARITIES = {2 * SECOND, SECOND, SECOND / 10, SECOND / 100, SECOND / 1_000, SECOND / 10_000,
      SECOND / 100_000, SECOND / 1_000_000, SECOND / 10_000_000, SECOND / 100_000_000};

  private CoarseTimes() {}

  /**
   * The granularity, in nanoseconds, of the file system of {@code dir}, measured on a new file there
   * (deleted again); 1 (exact) when it cannot be measured, or does not cut times as this class does.
   */
  public static long measure(Path dir) {
    return fileSystemOverride != null ? fileSystemOverride.applyAsLong(dir) : measureOn(dir);
  }

  /** Stands in for {@link #measure} in tests, which cannot mount a file system of coarser times; null: measure. */
  static volatile java.util.function.ToLongFunction<Path> fileSystemOverride;

  private static long measureOn(Path dir) {
    Path probe = dir.resolve(TreeScanner.TEMP_PREFIX + "time-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()));
    try {
      Files.createFile(probe);
      try {
        long seconds = 1_000_000_001L; // odd, with every digit of the fraction: each granularity cuts it otherwise
        int nanos = 123_456_789;
        Files.setLastModifiedTime(probe, FileTime.from(Instant.ofEpochSecond(seconds, nanos)));
        Instant back = Files.getLastModifiedTime(probe, LinkOption.NOFOLLOW_LINKS).toInstant();
        for (long g : GRANULARITIES) {
          long[] cut = cut(seconds, nanos, g);
          if (back.getEpochSecond() == cut[0] && back.getNano() == cut[1]) {
            return g;
          }
        }
        return 1;
      } finally {
        Files.deleteIfExists(probe);
      }
    } catch (IOException | RuntimeException cannot) {
      return 1;
    }
  }

  /** {@code seconds.nanos} cut to {@code granularity}: {seconds, nanos}. */
  private static long[] cut(long seconds, long nanos, long granularity) {
    if (granularity >= SECOND) {
      long step = granularity / SECOND;
      return new long[] {seconds - Math.floorMod(seconds, step), 0};
    }
    return new long[] {seconds, nanos - nanos % granularity};
  }

  /** The granularity, in nanoseconds, that every time of {@code scanned} is a multiple of; 1 when none, or too few entries. */
  static long granularity(Collection<ScannedEntry> scanned) {
    if (scanned.size() < MIN_ENTRIES) {
      return 1;
    }
    int g = 0;
    for (ScannedEntry s : scanned) {
      while (!isMultiple(s.mtimeSeconds(), s.mtimeNanos(), GRANULARITIES[g])) {
        if (++g == GRANULARITIES.length) {
          return 1;
        }
      }
    }
    return GRANULARITIES[g];
  }

  private static boolean isMultiple(long seconds, int nanos, long granularity) {
    return granularity >= SECOND ? nanos == 0 && Math.floorMod(seconds, granularity / SECOND) == 0 : nanos % granularity == 0;
  }

  /** Whether {@code s}'s time is {@code e}'s cut to {@code granularity} (and not {@code e}'s own). */
  private static boolean cutFrom(ScannedEntry s, Entry e, long granularity) {
    if (s.mtimeSeconds() == e.mtimeSeconds() && s.mtimeNanos() == e.mtimeNanos()) {
      return false;
    }
    return sameAt(s.mtimeSeconds(), s.mtimeNanos(), e, granularity);
  }

  /** Whether {@code seconds.nanos} (a time on the file system) is {@code e}'s cut to {@code granularity}. */
  public static boolean sameAt(long seconds, int nanos, Entry e, long granularity) {
    long[] cut = cut(e.mtimeSeconds(), e.mtimeNanos(), granularity);
    return seconds == cut[0] && nanos == cut[1];
  }

  /**
   * A push's scan of {@code root} with each entry the parent holds at a coarser time given the parent's time (see the
   * class comment); the scan itself when its times are fine-grained. A file's time too close to the
   * parent's creation to vouch for it unread is left as the scan saw it: the push reads such a file,
   * and compares what it read with the scan.
   */
  public static List<ScannedEntry> adoptParentTimes(List<ScannedEntry> scanned, Path root, LoadedSnapshot parent) {
    return adopt(scanned, root, parent.index(), Instant.parse(parent.config().created()).minusSeconds(ChunkReuse.RACY_SECONDS));
  }

  /** A pull's scan of its target {@code root}, by path, with each entry the snapshot holds at a coarser time given the snapshot's time. */
  public static Map<String, ScannedEntry> adoptSnapshotTimes(Map<String, ScannedEntry> scanned, Path root, SnapshotIndex index) {
    long granularity = granularity(scanned.values()) == 1 ? 1 : measure(root);
    if (granularity == 1) {
      return scanned;
    }
    Map<String, ScannedEntry> adopted = new LinkedHashMap<>(scanned);
    for (Entry e : index.entries()) {
      ScannedEntry s = scanned.get(e.path());
      if (s != null) {
        adopted.put(e.path(), adopt(s, e, granularity, Instant.MAX));
      }
    }
    return adopted;
  }

  private static List<ScannedEntry> adopt(List<ScannedEntry> scanned, Path root, SnapshotIndex index, Instant trustedBefore) {
    long granularity = granularity(scanned) == 1 ? 1 : measure(root);
    if (granularity == 1) {
      return scanned;
    }
    Map<String, Entry> entries = new HashMap<>();
    for (Entry e : index.entries()) {
      entries.put(e.path(), e);
    }
    List<ScannedEntry> adopted = new ArrayList<>(scanned.size());
    for (ScannedEntry s : scanned) {
      adopted.add(adopt(s, entries.get(s.path()), granularity, trustedBefore));
    }
    return adopted;
  }

  private static ScannedEntry adopt(ScannedEntry s, Entry e, long granularity, Instant trustedBefore) {
    if (e == null || e.type() != s.type() || (e.type() == EntryType.FILE && e.size() != s.size())
        || !Objects.equals(e.linkTarget(), s.linkTarget()) || !cutFrom(s, e, granularity)
        || (e.type() == EntryType.FILE && !Instant.ofEpochSecond(e.mtimeSeconds(), e.mtimeNanos()).isBefore(trustedBefore))) {
      return s;
    }
    return new ScannedEntry(s.path(), s.type(), s.mode(), s.size(), e.mtimeSeconds(), e.mtimeNanos(), s.linkTarget());
  }
}
