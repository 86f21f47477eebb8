package dev.cachemount.core;

import dev.cachemount.core.internal.ExclusiveLock;
import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.restore.Restorer;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.ScannedEntry;
import dev.cachemount.core.snapshot.SnapshotHead;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.snapshot.CoarseTimes;
import dev.cachemount.core.snapshot.TreeDigest;
import dev.cachemount.core.snapshot.TreeScanner;
import dev.cachemount.core.store.BlobNotFoundException;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * One pull: resolve the tag, load and verify the snapshot, restore it into the target. If a push
 * moves the tag while the pull reads, and the old snapshot's blobs are collected under it, the pull
 * starts over once with the new snapshot. Used once.
 */
final class PullOperation {
  private final Engine engine;
  private final CacheSpec spec;
  private final OperationListener listener;
  private final long started = System.nanoTime();

  private final Path stateDirectory;
  private final Path lockDirectory;
  /** Whether this pull holds its target's lock (false when the lock could not be made). */
  private volatile boolean targetLocked = true;
  /** The snapshot a {@code fallback=} chose, once the pull restores it: what a failure names. */
  private volatile FallbackTags.Match restoringFallback;
  private final java.time.Duration lockTimeout;
  private Progress progress = Progress.unobserved();

  /**
   * @param stateDirectory cachemount's own directory: its {@code locks/} hold the per-target locks, and
   *     a pull leaves it alone when it lies inside the target
   * @param lockTimeout how long to wait for another pull into the same target
   */
  PullOperation(Engine engine, CacheSpec spec, OperationListener listener, Path stateDirectory, java.time.Duration lockTimeout) {
    this.engine = engine;
    this.spec = spec;
    this.listener = listener;
    this.stateDirectory = stateDirectory;
    this.lockDirectory = stateDirectory.resolve("locks");
    this.lockTimeout = lockTimeout;
  }

  /** Counts what this pull does in {@code progress}. */
  PullOperation reportingTo(Progress progress) {
    this.progress = progress;
    return this;
  }

  OperationResult run(SnapshotStore store) {
    Engine.warnAboutFileNameEncoding(listener);
    Path target = spec.requireTarget("pull");
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      FileTrees.blockingAncestor(target).ifPresent(file -> {
        throw CachemountException.usage("target " + target + " cannot be made: " + file
            + " is a file, not a directory; set target= to a directory (it is created if missing)");
      });
    }
    try {
      return pull(store, target);
    } catch (CachemountException e) {
      FallbackTags.Match from = restoringFallback;
      throw from == null ? withRepairHint(e, spec.id(), store) : withRepairHint(e, spec.id(), from.tag(), from.ref(), store);
    } catch (IOException e) {
      throw IoErrors.failed("pull of cache '" + spec.id() + "'", e);
    } catch (UncheckedIOException e) {
      throw IoErrors.failed("pull of cache '" + spec.id() + "'", e.getCause());
    }
  }

  /**
   * An integrity failure means the stored snapshot is damaged or unsafe, whichever check found it:
   * every one gets the same remedy, here, rather than at each place that detects one.
   */
  static CachemountException withRepairHint(CachemountException e, String id, SnapshotStore store) {
    return withRepairHint(e, id, null, null, store);
  }

  /**
   * As {@link #withRepairHint(CachemountException, String, SnapshotStore)}, for a snapshot a
   * {@code fallback=} chose for {@code id} (its tag and ref; null: the id's own): the message names
   * it, and the repair is a push of its id, not of {@code id}, which holds nothing to replace.
   */
  static CachemountException withRepairHint(CachemountException e, String id, String fallbackTag, String fallbackRef, SnapshotStore store) {
    if (e.kind() != FailureKind.INTEGRITY) {
      return e;
    }
    String message = naming(e.getMessage(), id, fallbackRef);
    return new CachemountException(FailureKind.INTEGRITY, message + ". Nothing wrong was written."
        + repairAdvice(message, fallbackTag == null ? id : fallbackTag, store), e);
  }

  /** {@code message}, naming the snapshot a {@code fallback=} chose for {@code id} when it does not (null: the id's own, named by the context). */
  static String naming(String message, String id, String fallbackRef) {
    return fallbackRef == null || message.contains(fallbackRef) ? message
        : message + " (in " + fallbackRef + ", which a fallback= chose for id '" + id + "')";
  }

  /** What to do about a damaged stored snapshot (after {@code message}, which says what is wrong). */
  static String repairAdvice(String message, String id, SnapshotStore store) {
    // A registry stores each digest once, for all its repositories, and keeps the bytes it has
    // whatever a later upload sends (CNCF distribution skips the write when the digest exists).
    String registry = store instanceof dev.cachemount.core.registry.RegistryStore
        ? " If a blob's bytes are damaged (a digest or chunk mismatch), no push can replace them in a registry, which keeps"
            + " the bytes it holds for a digest: its operator must delete that blob from the registry's storage first"
        : "";
    // A message that already says what --force does (a damaged index.json) is not told it again.
    String repair = message.contains("--force") ? ""
        : " To replace the stored snapshot, run `cachemount push --force` for id '" + id + "' from a good copy of the tree.";
    return repair + registry;
  }

  private OperationResult pull(SnapshotStore store, Path target) throws IOException {
    try (ExclusiveLock.Held lock = lockTarget(target)) {
      progress.begin(Progress.Step.FETCHING, 0, 0); // after a wait for the lock (Progress.Step.WAITING)
      return pullLocked(store, target);
    }
  }

  /** Takes turns with other pulls into the target and with pushes of it ({@link TargetLock}). */
  private ExclusiveLock.Held lockTarget(Path target) throws IOException {
    Path real = StoreOverlap.real(target);
    TargetLock lock = new TargetLock(lockDirectory, real);
    // The lock is for the pull's neighbours only: without it, this pull still writes every file whole.
    return lock.take(lockTimeout, listener, progress, "pull", e -> {
      listener.warning("cannot take the lock " + lock.file() + " (" + IoErrors.describe(e) + "): this pull does not take turns with other"
          + " pulls into " + real + ", nor with pushes of it; set XDG_CACHE_HOME to a writable directory");
      targetLocked = false;
    }).orElse(() -> { });
  }

  private OperationResult pullLocked(SnapshotStore store, Path target) throws IOException {
    String ref = store.describe(spec.storeReference());
    try (EarlyScan early = EarlyScan.of(this, store, target)) {
      return pullLocked(store, target, ref, early);
    }
  }

  private OperationResult pullLocked(SnapshotStore store, Path target, String ownRef, EarlyScan early) throws IOException {
    String reference = spec.storeReference();
    String ref = ownRef;
    Optional<ManifestBytes> manifest = store.fetchManifest(reference);
    String fallback = null;
    SnapshotHead fallbackHead = null; // read by the choice of the fallback: not fetched again
    if (manifest.isEmpty() && !spec.fallback().isEmpty()) {
      Optional<FallbackTags.Match> match = FallbackTags.newest(store, spec, listener);
      if (match.isPresent()) {
        listener.info(ownRef + ": no snapshot stored for cache id '" + spec.id() + "'; restoring " + match.get().ref() + " (fallback="
            + match.get().prefix() + ")");
        reference = match.get().tag();
        ref = match.get().ref();
        fallback = ref;
        manifest = Optional.of(match.get().head().manifestBytes());
        fallbackHead = match.get().head();
        restoringFallback = match.get();
      }
    }
    for (int attempt = 0; ; attempt++) {
      if (manifest.isEmpty()) {
        listener.info(ref + ": no snapshot stored for cache id '" + spec.id() + "' (a miss)"
            + (spec.fallback().isEmpty() ? "" : " and no fallback matched") + "; the target was not touched");
        return new OperationResult(spec.id(), ref, null, Outcome.MISS, 0, 0, 0, 0, 0, null, null, null, null, null, null, null, Engine.millisSince(started), null, null);
      }
      try {
        // A second attempt scans again: the first may have written into the target.
        if (attempt > 0) {
          progress.begin(Progress.Step.FETCHING, 0, 0);
        }
        SnapshotHead head = attempt == 0 && fallbackHead != null ? fallbackHead : SnapshotReader.of(store).loadHead(manifest.get(), ref);
        return restore(store, head, target, ref, attempt == 0 ? early : null).withFallback(ownRef, fallback);
      } catch (BlobNotFoundException e) {
        Optional<ManifestBytes> now = store.fetchManifest(reference);
        if (now.isEmpty()) {
          // The tag is gone (a prune removed it, and its blobs with it): no push replaced it, and there is nothing to pull instead.
          throw new CachemountException(FailureKind.OPERATIONAL, "the snapshot " + ref + " was deleted while this pull read it (its tag"
              + " is gone: a prune removed it, or another tool); the files it restored before are whole and stay; run the pull again", e);
        }
        if (now.get().digest().equals(manifest.get().digest())) {
          throw e;
        }
        if (attempt > 0) {
          throw new CachemountException(FailureKind.OPERATIONAL,
              "the snapshot " + ref + " was replaced by pushes twice while this pull read it; run the pull again", e);
        }
        listener.warning("the snapshot " + ref + " was replaced by a push while this pull read it; pulling the new one");
        manifest = now;
      }
    }
  }

  /**
   * What a scan of {@code target} sees, by path in index order (nothing, when there is nothing at
   * {@code target} yet), or null when something other than a directory is there,
   * when it holds more than the snapshot's {@code entries} (the scan stops there: a pull into a large
   * directory of which the snapshot is a small part looks at the snapshot's files only, one by one),
   * or when the scan skipped something (a temporary file, a socket, a name that is not UTF-8): then it
   * cannot stand for the target. A pull compares it with the config's tree digest (a target that
   * already holds the snapshot needs nothing more, not even the index), and otherwise hands it to the
   * restore, which compares files with it instead of looking at each again.
   */
  private Map<String, ScannedEntry> scanTarget(Path target, LongSupplier entries) throws IOException {
    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      // Nothing there yet: the restore creates it and need not look for any file.
      return Files.notExists(target, LinkOption.NOFOLLOW_LINKS) ? Map.of() : null;
    }
    AtomicInteger skipped = new AtomicInteger();
    OperationListener counting = new OperationListener() {
      @Override
      public void warning(String message) {
        skipped.incrementAndGet();
      }
    };
    List<ScannedEntry> scanned;
    AtomicInteger dropped = new AtomicInteger();
    java.util.Queue<Path> deadMarkers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    try {
      scanned = new TreeScanner(counting, leftover -> dropStale(leftover, dropped, deadMarkers) ? TreeScanner.Leftover.DROPPED : TreeScanner.Leftover.LEFT).scan(target, java.util.Set.of(), entries);
    } catch (CachemountException | IOException e) {
      return null; // the restore looks at each file itself, and reports what it cannot read
    } finally {
      // After the files they name, which the scan found by them.
      deadMarkers.forEach(dev.cachemount.core.restore.PullMarker::remove);
    }
    if (dropped.get() > 0) {
      listener.info("removed " + dropped.get() + " temporary files that interrupted pulls left in " + target);
    }
    if (scanned == null || skipped.get() > 0) {
      return null;
    }
    Map<String, ScannedEntry> seen = new LinkedHashMap<>(scanned.size() * 2);
    for (ScannedEntry e : scanned) {
      seen.put(e.path(), e);
    }
    return seen;
  }

  /**
   * The temporary files of an interrupted pull younger than {@link #LEFTOVER_AGE} that this pull left
   * in the target (by file key: the scan and the mirror step may name one by other paths).
   */
  private final java.util.Set<Object> youngLeftovers = java.util.concurrent.ConcurrentHashMap.newKeySet();
  /** How many of {@link #youngLeftovers} were told of. */
  private int youngLeftoversTold;

  /**
   * Tells of the young temporary files the pull left in the target (a SIGKILLed pull's, most likely),
   * if it found more than it told of: its scan, before the restore, and the mirror step, which finds
   * them also where no scan ran. The scan's own warnings are not shown, since it only spares the
   * restore a look at each file.
   */
  private void warnOfYoungLeftovers(Path target) {
    int n = youngLeftovers.size();
    if (n > youngLeftoversTold) {
      youngLeftoversTold = n;
      String them = n == 1 ? "it" : "them";
      listener.warning(n + (n == 1 ? " temporary file of an interrupted pull (.cachemount-tmp-*) stays in " : " temporary files of an interrupted pull (.cachemount-tmp-*) stay in ")
          + target + ": changed less than an hour ago, " + (n == 1 ? "it" : "they") + " may be another process's pull in progress; a pull after that removes "
          + them + ", or delete " + them + " once no other pull runs");
    }
  }

  /** How long a temporary file stands still before a pull takes it for a killed pull's leftover. */
  private static final java.time.Duration LEFTOVER_AGE = java.time.Duration.ofHours(1);

  /**
   * Removes a temporary file that a killed pull left in the target: at once when its writer's marker
   * says it was killed ({@link dev.cachemount.core.restore.PullMarker}); for a file without a token
   * (an older version's), when this pull holds the target's lock and the file's inode has not
   * changed for {@link #LEFTOVER_AGE}, which makes it most unlikely to be the work in progress of a
   * process that does not share the lock directory (a pull writes its temporary files as their chunks
   * arrive; should one stall that long, it fails loudly, on a missing file, never silently). True
   * when it went.
   */
  private boolean dropStale(Path leftover, AtomicInteger dropped, java.util.Queue<Path> deadMarkers) {
    if (dev.cachemount.core.restore.PullMarker.isMarker(leftover)) {
      // A killed pull's marker goes once the scan is done: the files it names are judged by it meanwhile.
      if (dev.cachemount.core.restore.PullMarker.ownerOf(leftover) == dev.cachemount.core.restore.PullMarker.Owner.GONE) {
        deadMarkers.add(leftover);
        return true;
      }
      return false;
    }
    if (!stale(leftover) || !dev.cachemount.core.restore.PullMarker.remove(leftover)) {
      return false; // left as it is, and reported by the scan
    }
    dropped.incrementAndGet();
    return true;
  }

  /**
   * Whether a temporary file of an interrupted pull may go, by the rule of {@link #dropStale}; one
   * that stays because it is young is noted, and told once the pull goes ahead
   * ({@link #warnOfYoungLeftovers}). The mode=mirror step asks too, and removes what may go.
   */
  private boolean stale(Path leftover) {
    if (dev.cachemount.core.restore.PullMarker.isMarker(leftover)) {
      return false; // goes after the files it names, at the end of a scan (dropStale)
    }
    try {
      java.util.Map<String, Object> attrs = Files.readAttributes(leftover, "unix:ctime,isDirectory,fileKey", LinkOption.NOFOLLOW_LINKS);
      if ((Boolean) attrs.get("isDirectory")) {
        return false;
      }
      // Its writer's marker says whether it was killed (PullMarker), where the writer left a token.
      dev.cachemount.core.restore.PullMarker.Owner owner = dev.cachemount.core.restore.PullMarker.ownerOf(leftover);
      if (owner == dev.cachemount.core.restore.PullMarker.Owner.GONE) {
        return true;
      }
      if (!targetLocked || owner == dev.cachemount.core.restore.PullMarker.Owner.THIS_PROCESS) {
        return false;
      }
      java.nio.file.attribute.FileTime changed = (java.nio.file.attribute.FileTime) attrs.get("ctime");
      if (owner == dev.cachemount.core.restore.PullMarker.Owner.ALIVE || changed.toInstant().isAfter(engine.clock().instant().minus(LEFTOVER_AGE))) {
        Object key = attrs.get("fileKey");
        youngLeftovers.add(key != null ? key : leftover.toAbsolutePath().normalize());
        return false;
      }
      return true;
    } catch (IOException | RuntimeException e) {
      return false; // left as it is
    }
  }

  /**
   * How many entries a scan of the target may see and still be what the restore compares with: the
   * snapshot's, and an eighth more (at least 1,000), the local extras of a used cache (a build's new
   * files, what mode=mirror removes). Past that the target is mostly something else (a home
   * directory), and the restore looks at the snapshot's files one by one instead. With no margin, a
   * mirror pull of 300,000 files with 1% extra looked at each file (12–20 s in place of 4–9 s).
   */
  static long scanLimit(long entries) {
    return entries + Math.max(entries / 8, 1_000);
  }

  /**
   * A scan of the target that runs while the snapshot's manifest and config are fetched, as a push
   * scans while it loads its parent: for a target that is a directory without the store in it, when
   * the pull compares by metadata. Its limit ({@link #scanLimit} of the snapshot's entry count, see
   * {@link #scanTarget}) is set once the config is read; until then it scans on, and a scan past
   * that count is dropped.
   */
  private static final class EarlyScan implements AutoCloseable {
    private final AtomicLong limit = new AtomicLong(Long.MAX_VALUE);
    private final ExecutorService pool = Workers.pool("cachemount-scan", 1);
    private final Future<Map<String, ScannedEntry>> scanned;

    private EarlyScan(PullOperation pull, Path target) {
      scanned = pool.submit(() -> pull.scanTarget(target, limit::get));
    }

    /** An early scan of {@code target}, or null when the pull would not scan it, or scans it only later. */
    static EarlyScan of(PullOperation pull, SnapshotStore store, Path target) throws IOException {
      if (pull.spec.verifyContent() || !Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)
          || StoreOverlap.storeInside(target.toRealPath(), store).isPresent()
          || StoreOverlap.stateInside(target.toRealPath(), pull.stateDirectory).isPresent()) {
        return null;
      }
      return new EarlyScan(pull, target);
    }

    /** What {@link #scanTarget} says, for a scan of at most {@code limit} entries. */
    Map<String, ScannedEntry> result(long limit) throws IOException {
      this.limit.set(limit);
      Map<String, ScannedEntry> seen = Workers.await(scanned, "scanning the target");
      return seen != null && seen.size() > limit ? null : seen;
    }

    /** Stops a scan nobody waits for (a miss, a failure) at its next entry. */
    @Override
    public void close() {
      limit.set(0);
      Workers.stop(pool);
    }
  }

  private OperationResult restore(SnapshotStore store, SnapshotHead head, Path target, String ref, EarlyScan early) throws IOException {
    SnapshotReader reader = SnapshotReader.of(store);
    ManifestBytes manifest = head.manifestBytes();
    listener.info(String.format("%s: fetched the manifest and config (%,d entries, %,d bytes of files) in %d ms", ref,
        head.config().counts().entries(), head.config().counts().bytes(), Engine.millisSince(started)));
    // A target that does not exist yet is checked too: it must not be made inside the store.
    Path realTarget = StoreOverlap.real(target);
    Optional<Path> storeInside = StoreOverlap.storeInside(realTarget, store);
    // What the pull leaves alone in the target: the store, and cachemount's own directory.
    List<Path> keepOut = new java.util.ArrayList<>();
    storeInside.ifPresent(keepOut::add);
    StoreOverlap.stateInside(realTarget, stateDirectory).ifPresent(keepOut::add);
    boolean mirror = spec.mode().orElse(null) == CacheSpec.Mode.MIRROR;
    long entries = head.config().counts().entries();
    Map<String, ScannedEntry> seen = spec.verifyContent() || !keepOut.isEmpty() ? null
        : early != null ? early.result(scanLimit(entries)) : scanTarget(target, () -> scanLimit(entries));
    warnOfYoungLeftovers(target);
    if (seen != null && !seen.isEmpty() && head.config().treeDigest() != null
        && head.config().treeDigest().equals(TreeDigest.ofScan(List.copyOf(seen.values())))) {
      SnapshotConfig.Counts counts = head.config().counts();
      listener.info(target + " already holds " + ref + " (its tree digest matches a scan); the index was not fetched");
      return new OperationResult(spec.id(), ref, manifest.digest().toString(), Outcome.RESTORED,
          counts.files(), counts.directories(), counts.symlinks(), counts.bytes(), head.bytesRead(), null, null, null, null, null,
          counts.files(), mirror ? 0L : null, Engine.millisSince(started), null, null);
    }
    long indexNanos = System.nanoTime();
    LoadedSnapshot snapshot = reader.load(head, ref);
    progress.transferred(snapshot.bytesRead());
    listener.info(String.format("%s: fetched the index (%,d bytes read in all) in %d ms; %s", ref, snapshot.bytesRead(),
        Engine.millisSince(indexNanos), seen == null ? "the restore looks at each file of the target" : "a scan saw " + seen.size() + " entries in the target"));
    if (seen != null) {
      seen = CoarseTimes.adoptSnapshotTimes(seen, target, snapshot.index()); // a file system of coarser times than the snapshot's
    }
    long restoreNanos = System.nanoTime();
    Restorer.Options options = new Restorer.Options(spec.verifyContent(), mirror, snapshot.config().chunker().toParameters(), seen, this::stale);
    Restorer restorer = new Restorer(store, listener, Math.max(engine.workers(), store.parallelReads()), options).reportingTo(progress);
    Restorer.Stats stats = restorer.restore(snapshot.index(), target, ref, keepOut);
    warnOfYoungLeftovers(target); // those the mirror step found where no scan ran
    listener.info(String.format("restored %,d files (%,d already there), %,d directories and %,d symlinks into %s;"
        + " fetched %,d pack bytes, wrote %,d bytes, in %d ms", stats.files(), stats.filesUnchanged(), stats.directories(), stats.symlinks(),
        target, stats.bytesRead(), stats.bytesWritten(), Engine.millisSince(restoreNanos)));
    return new OperationResult(spec.id(), ref, manifest.digest().toString(), Outcome.RESTORED,
        stats.files(), stats.directories(), stats.symlinks(), snapshot.index().totalBytes(),
        snapshot.bytesRead() + stats.bytesRead(), null, null, null, null, null, stats.filesUnchanged(), options.mirror() ? stats.removed() : null,
        Engine.millisSince(started), null, null);
  }
}
