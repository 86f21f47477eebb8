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
import java.util.Map;
import java.util.TreeMap;

/**
 * Appends frames from many workers to a sequence of pack files in a staging directory, starting a
 * new pack once the current one reaches the target size, and remembers where every frame went.
 * Thread-safe: appends are serialised, but a full pack is finished (trailer, forced to disk, trailer
 * re-read) by the worker that filled it, outside the lock, so the others keep appending meanwhile.
 */
final class PackSink implements AutoCloseable {
  private record Placement(int pack, long offset, int storedLength, int rawLength, FrameEncoding encoding, List<ChunkRef> chunks) {}

  private final Path directory;
  private final long packTarget;
  private final Map<Integer, PackWriter.FinishedPack> finished = new TreeMap<>();
  private final List<PackWriter> open = new ArrayList<>();
  private final List<Placement> placements = new ArrayList<>();
  private PackWriter current;
  private int currentNumber = -1;
  private int packs;
  private boolean closed;

  PackSink(Path directory, long packTarget) {
    this.directory = directory;
    this.packTarget = packTarget;
  }

  void append(EncodedFrame frame) throws IOException {
    PackWriter full = null;
    int fullNumber = -1;
    synchronized (this) {
      if (closed) {
        throw new IOException("the snapshot was abandoned");
      }
      if (current == null) {
        currentNumber = packs++;
        current = new PackWriter(directory.resolve("pack-" + currentNumber));
        open.add(current);
      }
      long offset = current.append(frame);
      placements.add(new Placement(currentNumber, offset, frame.storedLength(), frame.rawLength(), frame.encoding(), frame.chunks()));
      if (current.size() >= packTarget) {
        full = current;
        fullNumber = currentNumber;
        current = null;
      }
    }
    if (full != null) {
      finish(full, fullNumber);
    }
  }

  private void finish(PackWriter writer, int number) throws IOException {
    PackWriter.FinishedPack pack = writer.finish();
    synchronized (this) {
      finished.put(number, pack);
      open.remove(writer);
    }
  }

  /**
   * Finishes the last pack and records packs, frames and chunks in {@code builder}. Called once,
   * after every worker has returned.
   */
  synchronized List<PackWriter.FinishedPack> finish(SnapshotIndex.Builder builder) throws IOException {
    if (current != null) {
      PackWriter last = current;
      current = null;
      finish(last, currentNumber);
    }
    if (finished.size() != packs) {
      throw new IllegalStateException(packs + " packs started but " + finished.size() + " finished");
    }
    List<PackWriter.FinishedPack> result = new ArrayList<>(finished.values());
    for (PackWriter.FinishedPack pack : result) {
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
    return result;
  }

  synchronized long frameCount() {
    return placements.size();
  }

  /** Closes (and so deletes) every pack not finished; finished packs are the caller's to remove. */
  @Override
  public synchronized void close() throws IOException {
    closed = true;
    IOException failure = null;
    for (PackWriter w : open) {
      try {
        w.close();
      } catch (IOException e) {
        failure = e;
      }
    }
    open.clear();
    current = null;
    if (failure != null) {
      throw failure;
    }
  }
}
