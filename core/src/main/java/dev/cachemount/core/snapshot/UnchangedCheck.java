package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.Entry;
import dev.cachemount.core.index.EntryType;
import dev.cachemount.core.index.SnapshotIndex;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Decides, without reading any file, that a scanned tree equals a stored snapshot: the same entries
 * with the same types, owner-executable bits, sizes, modification times and link targets. As in
 * git's index, a file whose modification time is not safely before the snapshot's scan may have
 * changed within the same clock tick and sends the push down the reading path.
 */
public final class UnchangedCheck {
  /** How close to the parent's scan a modification time must be to count as racy. */
  static final long RACY_SECONDS = 2;

  private UnchangedCheck() {}

  /** Whether {@code scanned} is certainly the tree {@code parent} holds, judged by metadata alone. */
  public static boolean unchanged(List<ScannedEntry> scanned, SnapshotIndex parent, Instant parentScanStarted) {
    List<Entry> entries = parent.entries();
    if (scanned.size() != entries.size()) {
      return false;
    }
    Instant racyFrom = parentScanStarted.minusSeconds(RACY_SECONDS);
    for (int i = 0; i < scanned.size(); i++) {
      ScannedEntry s = scanned.get(i);
      Entry e = entries.get(i);
      if (!s.path().equals(e.path())
          || s.type() != e.type()
          || ((s.mode() & 0100) != 0) != e.executable()
          || s.mtimeSeconds() != e.mtimeSeconds()
          || s.mtimeNanos() != e.mtimeNanos()
          || !Objects.equals(s.linkTarget(), e.linkTarget())) {
        return false;
      }
      if (s.type() == EntryType.FILE) {
        if (s.size() != e.size()) {
          return false;
        }
        if (!Instant.ofEpochSecond(s.mtimeSeconds(), s.mtimeNanos()).isBefore(racyFrom)) {
          return false;
        }
      }
    }
    return true;
  }
}
