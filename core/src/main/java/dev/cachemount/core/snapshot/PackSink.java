package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.FrameEncoding;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.ChunkRef;
import dev.cachemount.core.pack.EncodedFrame;
import dev.cachemount.core.pack.PackWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Appends frames from many workers to a sequence of pack files in a staging directory, starting a
 * new pack once the current one reaches the target size, and remembers where every frame went.
 * Thread-safe: appends are serialised (compression happens before, in the workers).
 */
final class PackSink implements AutoCloseable {
  private record Placement(int pack, long offset, int storedLength, int rawLength, FrameEncoding encoding, List<ChunkRef> chunks) {}

  private final Path directory;
  private final long packTarget;
  private final List<PackWriter.FinishedPack> finished = new ArrayList<>();
  private final List<Placement> placements = new ArrayList<>();
  private PackWriter current;

  PackSink(Path directory, long packTarget) {
    this.directory = directory;
    this.packTarget = packTarget;
  }

  synchronized void append(EncodedFrame frame) throws IOException {
    if (current == null) {
      current = new PackWriter(directory.resolve("pack-" + finished.size()));
    }
    long offset = current.append(frame);
    placements.add(new Placement(finished.size(), offset, frame.storedLength(), frame.rawLength(), frame.encoding(), frame.chunks()));
    if (current.size() >= packTarget) {
      finishCurrent();
    }
  }

  /** Finishes the last pack and records packs, frames and chunks in {@code builder}. */
  synchronized List<PackWriter.FinishedPack> finish(SnapshotIndex.Builder builder) throws IOException {
    if (current != null) {
      finishCurrent();
    }
    for (PackWriter.FinishedPack pack : finished) {
      builder.addPack(pack.digest(), pack.size());
    }
    for (Placement p : placements) {
      int frame = builder.addFrame(p.pack(), p.offset(), p.storedLength(), p.rawLength(), p.encoding());
      int offset = 0;
      for (ChunkRef c : p.chunks()) {
        builder.addChunk(c.digest(), frame, offset, c.length());
        offset += c.length();
      }
    }
    return List.copyOf(finished);
  }

  synchronized long frameCount() {
    return placements.size();
  }

  private void finishCurrent() throws IOException {
    try (PackWriter writer = current) {
      finished.add(writer.finish());
    } finally {
      current = null;
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (current != null) {
      current.close();
      current = null;
    }
  }
}
