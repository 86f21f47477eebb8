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
 * Collects the packs of one snapshot. Each worker writes into its own {@link Lane}: a sequence of
 * pack files in the staging directory, a new one started once the current one reaches the target
 * size. Lanes share nothing while they write (no lock on the write path: each lane hashes and writes
 * its own pack), and report finished packs and frame placements to the sink. Thread-safe.
 */
final class PackSink implements AutoCloseable {
  private record Placement(int pack, long offset, int storedLength, int rawLength, FrameEncoding encoding, List<ChunkRef> chunks) {}

  private final Path directory;
  private final long packTarget;
  private final java.util.function.Consumer<PackWriter.FinishedPack> onFinished;
  private final Map<Integer, PackWriter.FinishedPack> finished = new TreeMap<>();
  private final List<Placement> placements = new ArrayList<>();
  private final List<Lane> lanes = new ArrayList<>();
  private int packs;
  private boolean closed;

  PackSink(Path directory, long packTarget) {
    this(directory, packTarget, pack -> { });
  }

  /** @param onFinished hears each pack as its lane finishes it (to store it at once) */
  PackSink(Path directory, long packTarget, java.util.function.Consumer<PackWriter.FinishedPack> onFinished) {
    this.directory = directory;
    this.packTarget = packTarget;
    this.onFinished = onFinished;
  }

  /** Refuses new packs from now on (a cancelled push); packs being written are left to their lanes. */
  synchronized void refuse() {
    closed = true;
  }

  /** A new lane for one worker. */
  synchronized Lane newLane() throws IOException {
    if (closed) {
      throw new Abandoned();
    }
    Lane lane = new Lane();
    lanes.add(lane);
    return lane;
  }

  private synchronized PackWriter openPack(Lane lane) throws IOException {
    if (closed) {
      throw new Abandoned();
    }
    lane.number = packs++;
    return new PackWriter(directory.resolve("pack-" + lane.number));
  }

  private synchronized void record(int number, PackWriter.FinishedPack pack, List<Placement> lanePlacements) {
    finished.put(number, pack);
    placements.addAll(lanePlacements);
  }

  /** One worker's packs. Not thread-safe: used by its worker only. */
  final class Lane {
    private PackWriter current;
    private int number;
    private final List<Placement> pending = new ArrayList<>();

    /** The staging directory the lane's packs are written to. */
    Path directory() {
      return directory;
    }

    /** Appends a frame, starting a pack if needed and finishing it once it is full. */
    void append(EncodedFrame frame) throws IOException {
      if (current == null) {
        current = openPack(this);
      }
      long offset = current.append(frame);
      pending.add(new Placement(number, offset, frame.storedLength(), frame.rawLength(), frame.encoding(), frame.chunks()));
      if (current.size() >= packTarget) {
        finishCurrent();
      }
    }

    /** Finishes the lane's last pack; call once, when the worker is done. */
    void finish() throws IOException {
      if (current != null) {
        finishCurrent();
      }
    }

    private void finishCurrent() throws IOException {
      PackWriter writer = current;
      try {
        PackWriter.FinishedPack pack = writer.finish();
        record(number, pack, pending);
        pending.clear();
        onFinished.accept(pack);
      } finally {
        writer.close();
        current = null;
      }
    }

    /** Deletes an unfinished pack. */
    private void abandon() throws IOException {
      if (current != null) {
        PackWriter writer = current;
        current = null;
        writer.close();
      }
    }
  }

  /**
   * Records packs, frames and chunks in {@code builder}; every lane must have finished. Called
   * once, after every worker has returned.
   */
  synchronized List<PackWriter.FinishedPack> finish(SnapshotIndex.Builder builder) {
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

  /**
   * Refuses further packs and deletes every unfinished one; finished packs are the caller's to
   * remove. Call only when no worker writes any more.
   */
  @Override
  public synchronized void close() throws IOException {
    closed = true;
    IOException failure = null;
    for (Lane lane : lanes) {
      try {
        lane.abandon();
      } catch (IOException e) {
        failure = e;
      }
    }
    lanes.clear();
    if (failure != null) {
      throw failure;
    }
  }

  /** What a lane throws once the push was cancelled: no new pack. */
  static final class Abandoned extends IOException {
    Abandoned() {
      super("the snapshot was abandoned");
    }
  }
}
