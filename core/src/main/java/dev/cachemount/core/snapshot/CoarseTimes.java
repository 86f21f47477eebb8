package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
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
 * <p>The granularity is told from the times a scan saw: the coarsest of 2 s, 1 s, 100 ms, ..., 10 ns
 * that every time is a multiple of, when there are at least {@link #MIN_ENTRIES} entries (fewer tell
 * nothing, and are compared exactly). An entry whose time is the snapshot entry's cut to that
 * granularity, and whose kind, size and link target are the entry's, takes the entry's time, so that
 * it compares equal everywhere after. On a file system of nanoseconds nothing changes, unless every
 * time in the tree happens to be a whole second (a tree unpacked from a tar archive): there such an
 * entry counts as the snapshot's, as it would on a file system of seconds.
 */
public final class CoarseTimes {
  /** Fewer entries than this tell nothing about the file system's granularity. */
  static final int MIN_ENTRIES = 16;
  private static final long SECOND = 1_000_000_000L;
  /** From coarsest to finest; 1 ns is exact. */
  private static final long[] GRANULARITIES = {2 * SECOND, SECOND, SECOND / 10, SECOND / 100, SECOND / 1_000, SECOND / 10_000,
      SECOND / 100_000, SECOND / 1_000_000, SECOND / 10_000_000, SECOND / 100_000_000};

  private CoarseTimes() {}

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
    if (granularity >= SECOND) {
      long step = granularity / SECOND;
      return s.mtimeNanos() == 0 && s.mtimeSeconds() == e.mtimeSeconds() - Math.floorMod(e.mtimeSeconds(), step);
    }
    return s.mtimeSeconds() == e.mtimeSeconds() && s.mtimeNanos() == e.mtimeNanos() - e.mtimeNanos() % granularity;
  }

  /**
   * A push's scan with each entry the parent holds at a coarser time given the parent's time (see the
   * class comment); the scan itself when its times are fine-grained. A file's time too close to the
   * parent's creation to vouch for it unread is left as the scan saw it: the push reads such a file,
   * and compares what it read with the scan.
   */
  public static List<ScannedEntry> adoptParentTimes(List<ScannedEntry> scanned, LoadedSnapshot parent) {
    return adopt(scanned, parent.index(), Instant.parse(parent.config().created()).minusSeconds(ChunkReuse.RACY_SECONDS));
  }

  /** A pull's scan of its target, by path, with each entry the snapshot holds at a coarser time given the snapshot's time. */
  public static Map<String, ScannedEntry> adoptSnapshotTimes(Map<String, ScannedEntry> scanned, SnapshotIndex index) {
    long granularity = granularity(scanned.values());
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

  private static List<ScannedEntry> adopt(List<ScannedEntry> scanned, SnapshotIndex index, Instant trustedBefore) {
    long granularity = granularity(scanned);
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
