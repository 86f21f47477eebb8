package dev.cachemount.core;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * How far one push, pull or verify has come, for a front to show while it runs (a progress bar, a
 * line in a CI log every few seconds). The operation's threads advance it; any thread may read it at
 * any time ({@link #now()}), and reading costs the operation nothing. An operation hands its progress
 * to {@link OperationListener#progress} once, when it starts.
 *
 * <p>An operation goes through {@link Step steps}; each {@link #begin begins} with what it has to do,
 * in bytes and files where that is known, and counts what it did. Bytes moved to or from the store
 * are counted across steps: uploads go on while a push reads.
 */
public final class Progress {
  /** What the operation is doing. */
  public enum Step {
    /** Push and pull: waiting for another cachemount that pulls into or pushes the same directory (its lock). */
    WAITING("waiting for another cachemount"),
    /** Push: reading the stored snapshot's manifest, config and index, and scanning the directory (files: entries found). */
    SCANNING("scanning"),
    /** Push: reading, chunking and packing the files that changed (bytes and files: of those to read). */
    READING("reading files"),
    /** Push: storing what is left (packs, index, config) and moving the tag. */
    STORING("storing"),
    /** Push with {@code image=}: writing and storing the image view (its bytes are not counted). */
    IMAGE("writing the image view"),
    /** Pull and verify: reading the stored snapshot's manifest, config and index. */
    FETCHING("fetching the index"),
    /** Pull: fetching the frames of the files to write and writing them (bytes and files: of those to write). */
    RESTORING("restoring"),
    /** Pull with {@code mode=mirror}: removing what the snapshot does not hold. */
    REMOVING("removing extras"),
    /** Verify: reading and checking every pack (bytes: of the packs). */
    CHECKING("checking");

    private final String label;

    Step(String label) {
      this.label = label;
    }

    /** The step in a few words, as a progress line shows it. */
    public String label() {
      return label;
    }
  }

  /**
   * What was done when {@link #now()} was called. {@code bytesTotal} and {@code filesTotal} are 0
   * where the step does not know them; {@code bytesTransferred} counts blob bytes written to the store
   * (push) or read from it (pull, verify) since the operation began; {@code elapsed} is the time
   * since the operation began, {@code stepElapsed} since the step did.
   */
  public record Now(String id, String operation, Step step, long bytesDone, long bytesTotal, long filesDone, long filesTotal,
      long bytesTransferred, java.time.Duration elapsed, java.time.Duration stepElapsed) {
    /** The share of the step's bytes done, 0 to 1; empty where the step does not know its total. */
    public java.util.OptionalDouble fraction() {
      return bytesTotal <= 0 ? java.util.OptionalDouble.empty() : java.util.OptionalDouble.of(Math.min(1.0, (double) bytesDone / bytesTotal));
    }
  }

  private record Begun(Step step, long bytesTotal, long filesTotal, long startedNanos) {}

  private final String id;
  private final String operation;
  private final long started;
  private final AtomicReference<Begun> current;
  private final LongAdder bytesDone = new LongAdder();
  private final LongAdder filesDone = new LongAdder();
  private final LongAdder transferred = new LongAdder();

  /**
   * @param id the cache id
   * @param operation {@code push}, {@code pull} or {@code verify}
   * @param first the step it starts with
   */
  public Progress(String id, String operation, Step first) {
    this(id, operation, first, System.nanoTime());
  }

  /** With the {@link System#nanoTime()} the operation started at: tests give one. */
  Progress(String id, String operation, Step first, long startedNanos) {
    this.id = id;
    this.operation = operation;
    this.started = startedNanos;
    this.current = new AtomicReference<>(new Begun(first, 0, 0, startedNanos));
  }

  /** Progress nobody looks at: for a component used on its own (tests, library users). */
  public static Progress unobserved() {
    return new Progress("", "", Step.SCANNING);
  }

  /**
   * Starts {@code step}, which has {@code bytesTotal} bytes and {@code filesTotal} files to do (0:
   * not known); its counts start from 0.
   */
  public void begin(Step step, long bytesTotal, long filesTotal) {
    // Counts first: a reader between the two sees the old step with a count of 0 at worst, never the new one with the old count.
    bytesDone.reset();
    filesDone.reset();
    current.set(new Begun(step, Math.max(0, bytesTotal), Math.max(0, filesTotal), System.nanoTime()));
  }

  /** {@code n} bytes of the step done. */
  public void bytes(long n) {
    bytesDone.add(n);
  }

  /** One file of the step done. */
  public void file() {
    filesDone.increment();
  }

  /** {@code n} bytes written to or read from the store. */
  public void transferred(long n) {
    transferred.add(n);
  }

  public String id() {
    return id;
  }

  /** What was done so far. */
  public Now now() {
    Begun b = current.get();
    long now = System.nanoTime();
    return new Now(id, operation, b.step(), bytesDone.sum(), b.bytesTotal(), filesDone.sum(), b.filesTotal(), transferred.sum(),
        java.time.Duration.ofNanos(now - started), java.time.Duration.ofNanos(now - b.startedNanos()));
  }
}
