package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Decides, from metadata, whether a scanned tree may equal a stored snapshot: the same entries with
 * the same types, owner-executable bits, sizes, modification times and link targets. As in git's
 * index, a file whose modification time is not safely before the snapshot's scan may have changed
 * within the same clock tick: it is "racy", and only its content can tell ({@link ContentCheck}).
 */
public final class UnchangedCheck {
  /** How close to the parent's scan a modification time must be to count as racy. */
  static final long RACY_SECONDS = 2;

  /**
   * What the metadata says.
   *
   * @param sameMetadata every entry matches the snapshot's
   * @param racy positions (in the scan and the snapshot's entries alike) of matching files whose
   *     content must be read to be sure
   */
  public record Verdict(boolean sameMetadata, List<Integer> racy) {
    /** Unchanged without reading a single file. */
    public boolean unchangedWithoutReading() {
      return sameMetadata && racy.isEmpty();
    }
  }

  private UnchangedCheck() {}

  /**
   * Whether a file of {@code scanned} was modified too close to (or after) the scan of a parent that
   * began at {@code parentScanStarted} for its size and time to vouch for its content.
   */
  public static boolean anyRacy(List<ScannedEntry> scanned, Instant parentScanStarted) {
    Instant racyFrom = parentScanStarted.minusSeconds(RACY_SECONDS);
    for (ScannedEntry s : scanned) {
      if (s.type() == EntryType.FILE && !Instant.ofEpochSecond(s.mtimeSeconds(), s.mtimeNanos()).isBefore(racyFrom)) {
        return true;
      }
    }
    return false;
  }

  /** Compares {@code scanned} with {@code parent}, whose scan began at {@code parentScanStarted}. */
  public static Verdict compare(List<ScannedEntry> scanned, SnapshotIndex parent, Instant parentScanStarted) {
    List<Entry> entries = parent.entries();
    if (scanned.size() != entries.size()) {
      return new Verdict(false, List.of());
    }
    Instant racyFrom = parentScanStarted.minusSeconds(RACY_SECONDS);
    List<Integer> racy = new ArrayList<>();
    for (int i = 0; i < scanned.size(); i++) {
      ScannedEntry s = scanned.get(i);
      Entry e = entries.get(i);
      if (!s.path().equals(e.path())
          || s.type() != e.type()
          || ((s.mode() & 0100) != 0) != e.executable()
          || s.mtimeSeconds() != e.mtimeSeconds()
          || s.mtimeNanos() != e.mtimeNanos()
          || !Objects.equals(s.linkTarget(), e.linkTarget())) {
        return new Verdict(false, List.of());
      }
      if (s.type() == EntryType.FILE) {
        if (s.size() != e.size()) {
          return new Verdict(false, List.of());
        }
        if (!Instant.ofEpochSecond(s.mtimeSeconds(), s.mtimeNanos()).isBefore(racyFrom)) {
          racy.add(i);
        }
      }
    }
    return new Verdict(true, List.copyOf(racy));
  }
}
