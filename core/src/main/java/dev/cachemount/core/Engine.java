package dev.cachemount.core;

import dev.cachemount.core.chunk.ChunkerParameters;
import java.time.Clock;

/**
 * How a client snapshots and restores: the settings every operation shares.
 *
 * @param workers threads that read, chunk and compress during a push, and packs read at once during a pull
 */
record Engine(Clock clock, int workers, ChunkerParameters chunker, int frameTarget, long packTarget) {

  /** Names are stored as UTF-8; a JVM started under another locale cannot read or write non-ASCII names. */
  static void warnAboutFileNameEncoding(OperationListener listener) {
    if (!dev.cachemount.core.internal.FileNameEncoding.utf8()) {
      listener.warning("this JVM reads file names as " + dev.cachemount.core.internal.FileNameEncoding.encoding()
          + ", so names that are not ASCII are skipped or cannot be restored; run it with LC_ALL=C.UTF-8 (the ./cachemount launcher does)");
    }
  }

  static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
