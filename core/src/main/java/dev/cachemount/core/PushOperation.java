package dev.cachemount.core;

import dev.cachemount.core.blob.Digest;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.image.ImageView;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.CleanupOnExit;
import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.internal.Workers;
import dev.cachemount.core.oci.Descriptor;
import dev.cachemount.core.oci.SnapshotConfig;
import dev.cachemount.core.snapshot.CoarseTimes;
import dev.cachemount.core.snapshot.ContentCheck;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.PackUploader;
import dev.cachemount.core.snapshot.ReuseSource;
import dev.cachemount.core.snapshot.ReusedPack;
import dev.cachemount.core.snapshot.ScannedEntry;
import dev.cachemount.core.snapshot.SnapshotHead;
import dev.cachemount.core.snapshot.SnapshotPublisher;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.snapshot.Snapshotter;
import dev.cachemount.core.snapshot.StagedSnapshot;
import dev.cachemount.core.snapshot.TreeDigest;
import dev.cachemount.core.snapshot.TreePolicies;
import dev.cachemount.core.snapshot.TreeScanner;
import dev.cachemount.core.snapshot.UnchangedCheck;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * One push: load the snapshot the tag names (the parent), scan the target, decide from metadata
 * (and, for racy files, content) whether anything changed, and if so snapshot the tree into staging,
 * referencing what the parent and the {@code from=} snapshots already hold, and publish it. Used once.
 */
final class PushOperation {
  /** How long a cancelled push waits for its uploads to stop before it removes their staged packs. */
  private static final java.time.Duration CANCEL_PATIENCE = java.time.Duration.ofSeconds(2);

  private final Engine engine;
  private final CacheSpec spec;
  private final PushOptions options;
  private final OperationListener listener;
  private final List<ReuseSource> others;
  private final Path stateDirectory;
  /** How long to wait for a pull restoring into the target. */
  private final java.time.Duration targetLockTimeout;
  private final long started = System.nanoTime();
  private Progress progress = Progress.unobserved();

  /**
   * @param others snapshots named by {@code from=}, loaded; ignored with {@code --force}
   * @param stateDirectory cachemount's own directory, left out of a target that holds it
   */
  PushOperation(Engine engine, CacheSpec spec, PushOptions options, OperationListener listener, List<ReuseSource> others, Path stateDirectory,
      java.time.Duration targetLockTimeout) {
    this.stateDirectory = stateDirectory;
    this.targetLockTimeout = targetLockTimeout;
    this.engine = engine;
    this.spec = spec;
    this.options = options;
    this.listener = listener;
    this.others = List.copyOf(others);
  }

  /** Counts what this push does in {@code progress}. */
  PushOperation reportingTo(Progress progress) {
    this.progress = progress;
    return this;
  }

  OperationResult run(SnapshotStore store) {
    Engine.warnAboutFileNameEncoding(listener);
    Path target = spec.requireTarget("push");
    if (!Files.isDirectory(target)) {
      throw CachemountException.usage(Files.isSymbolicLink(target) && !Files.exists(target)
          ? "target " + target + " is a symlink that names nothing, so there is nothing to push; check the path and the link"
          : Files.exists(target, LinkOption.NOFOLLOW_LINKS)
          ? "target " + target + " is not a directory; set target= to the cache directory"
          : "target " + target + " does not exist, so there is nothing to push; check the path (a cache directory appears once a build has filled it)");
    }
    try {
      Path root = target.toRealPath();
      for (int attempt = 1; ; attempt++) {
        try (dev.cachemount.core.internal.ExclusiveLock.Held turn = lockTarget(root)) {
          OperationResult pushed = push(store, root, turn, attempt == MERGE_TRIES);
          // Under the target's lock still: the view is read from the directory.
          return spec.image().isEmpty() ? pushed : withImageView(store, root, pushed, turn);
        } catch (TagMovedException moved) {
          listener.info(moved.getMessage() + "; merging with that one instead (try " + (attempt + 1) + " of " + MERGE_TRIES + ")");
        }
      }
    } catch (IOException e) {
      throw IoErrors.failed("push of cache '" + spec.id() + "'", e);
    } catch (UncheckedIOException e) {
      throw IoErrors.failed("push of cache '" + spec.id() + "'", e.getCause());
    }
  }

  /**
   * How many times a {@code mode=merge} push builds its snapshot when other pushes move the tag
   * meanwhile. A merge builds on the snapshot the tag names; one that moved the tag over a snapshot
   * it did not build on would drop the files that one added. A directory store's merges take turns
   * ({@link MergeLock}); a registry has no lock, so a merge looks at the tag again just before it
   * moves it. The last try moves it whatever it finds, with a warning.
   */
  static final int MERGE_TRIES = 5;

  /** The tag no longer names the snapshot this merge built on. */
  private static final class TagMovedException extends IOException {
    TagMovedException(String message) {
      super(message);
    }
  }

  /**
   * What the tag named when the push read it: the manifest's digest, or empty for none (or one
   * unreadable, which the push replaces). Set by {@link #loadParentHead}, on whichever thread reads it.
   */
  private volatile Optional<Digest> tagAtLoad = Optional.empty();

  /**
   * What the earlier tries of a merge ({@link #MERGE_TRIES}) stored before they found the tag moved:
   * written all the same, so counted in the result (blob and manifest bytes; blobs uploaded, mounted).
   */
  private long earlierBytes;
  private long earlierUploaded;
  private long earlierMounted;

  /**
   * Takes turns with pulls into the target and other pushes of it ({@link TargetLock}): a push that
   * read a tree a pull was still writing would store half of it under the id, its temporary files
   * left out, in place of a good snapshot. Without a lock file, it goes on.
   */
  private dev.cachemount.core.internal.ExclusiveLock.Held lockTarget(Path root) throws IOException {
    TargetLock lock = new TargetLock(stateDirectory.resolve("locks"), root);
    return lock.take(targetLockTimeout, listener, progress, "push",
        e -> listener.warning("cannot take the lock " + lock.file() + " (" + IoErrors.describe(e) + "): this push does not wait for pulls into "
            + root + ", so it may store a tree that one is still writing; set XDG_CACHE_HOME to a writable directory"))
        .orElse(() -> { });
  }

  /**
   * @param turn the target's lock (see {@link #lockTarget}): released here once every file the push
   *     reads has been read, so that a pull into the target waits for the reading, not for the upload
   * @param lastTry a merge moves the tag even if another push moved it meanwhile ({@link #MERGE_TRIES})
   */
  private OperationResult push(SnapshotStore store, Path root, dev.cachemount.core.internal.ExclusiveLock.Held turn, boolean lastTry)
      throws IOException {
    String tag = spec.pushTag();
    String ref = store.describe(tag);
    if (store instanceof LayoutStore layout) {
      // A damaged index.json: reported before the scan, or, with --force, the repair.
      if (options.force()) {
        layout.setAsideDamagedIndex().ifPresent(aside -> listener.warning("the index.json of " + layout.root() + " was damaged; it is"
            + " now " + aside + ", and this push starts a new one: push the store's other ids again, then delete " + aside));
      } else {
        layout.checkIndex();
      }
    }
    Set<Path> excluded = new java.util.HashSet<>();
    Optional<Path> stateInside = StoreOverlap.stateInside(root, stateDirectory);
    if (stateInside.isPresent()) {
      listener.info("cachemount's own directory " + stateInside.get() + " lies inside the target; it is left out of the snapshot");
      excluded.add(stateInside.get());
    }
    Optional<Path> storeInside = StoreOverlap.storeInside(root, store);
    Optional<LoadedSnapshot> parent;
    Instant scanStarted;
    List<ScannedEntry> scanned;
    if (storeInside.isPresent()) {
      // Loaded even with --force: a tag that holds something not ours is never overwritten.
      parent = loadParent(store, tag, ref);
      listener.warning("the store " + storeInside.get() + " lies inside the target " + root + "; it is left out of the snapshot");
      // Created now, before the scan, so that this push and the next see the same tree around it.
      ((LayoutStore) store).create();
      excluded.add(storeInside.get());
      scanStarted = engine.clock().instant();
      scanned = scan(root, excluded);
    } else {
      // The parent's manifest and config come from the store while this thread scans the tree; its
      // index only when the tree digest cannot tell that nothing changed (a large cache's index is
      // large: an unchanged push should not fetch it).
      // The loader's first thread reads the head, the others ask the store for its packs meanwhile.
      ExecutorService loader = Workers.pool("cachemount-parent", 1 + PACK_CHECKS);
      try {
        CompletableFuture<List<ScannedEntry>> scanDone = new CompletableFuture<>();
        Future<Optional<ParentHead>> headLoaded = loader.submit(() -> loadParentHeadAndPacks(store, tag, ref, loader, scanDone));
        scanStarted = engine.clock().instant();
        List<ScannedEntry> found = null;
        String foundDigest = null;
        Throwable scanFailure = null;
        try {
          try {
            found = scan(root, excluded);
          } finally {
            scanDone.complete(found); // null when the scan failed: the loader then loads no index
          }
          // while the loader may still be at work: what the tree-digest check compares
          foundDigest = plainPush() ? TreeDigest.ofScan(found) : null;
        } catch (IOException | RuntimeException e) {
          scanFailure = e;
        }
        // As before the overlap: a parent that cannot be loaded is the failure reported first.
        Optional<ParentHead> head = await(headLoaded);
        if (scanFailure != null) {
          throw Workers.rethrow(scanFailure);
        }
        if (head.isPresent() && unchangedByTreeDigest(head.get(), foundDigest, ref)) {
          return unchangedResult(ref, head.get().head());
        }
        parent = head.isEmpty() ? Optional.empty() : completeParent(store, head.get().head(), head.get().blobsPresent(), ref, head.get().index());
        scanned = found;
      } finally {
        Workers.stop(loader);
      }
    }
    String fallbackRef = null;
    if (parent.isEmpty() && !options.force() && !spec.fallback().isEmpty()) {
      // What a merge checks before it moves the tag stays this push's own tag (tagAtLoad): what it named
      // when it was read (nothing, or a snapshot this push cannot build on and replaces), not the fallback.
      Optional<FallbackTags.Match> match = FallbackTags.newest(store, spec, listener);
      if (match.isPresent()) {
        try {
          // The head the choice read: not fetched again.
          parent = loadParentAfterScan(store, match.get().head(), match.get().ref(), scanned);
        } catch (NewerFormatException e) {
          // Shown by its index only (a payload version): the fallback is a help, this is no reason to fail.
          listener.warning("fallback=" + match.get().prefix() + ": " + match.get().ref() + " was written by a newer cachemount (" + e.marker()
              + "); the push goes on without a fallback");
        }
        if (parent.isPresent()) {
          fallbackRef = match.get().ref();
          listener.info(ref + (tagAtLoad.isEmpty() ? ": no snapshot stored yet" : " holds no snapshot this push can build on") + "; building on "
              + fallbackRef + " (fallback=" + match.get().prefix() + "): files it holds unchanged are not read, and its packs are reused");
        }
      }
    }
    if (parent.isPresent() && !options.force()) {
      // A file system of coarser times than the parent's: what equals it at that granularity takes its
      // times. Not with --force, which reads every file (and compares its time with the scan's).
      scanned = CoarseTimes.adoptParentTimes(scanned, root, parent.get());
    }
    TreePolicies.Tree tree = TreePolicies.Tree.of(scanned);
    // A merge is with the id's own snapshot; one a fallback found is only built on.
    if (spec.mode().orElse(CacheSpec.Mode.MIRROR) == CacheSpec.Mode.MERGE && parent.isPresent() && fallbackRef == null) {
      if (options.force()) {
        listener.warning("--force stores the directory only: a merge would reference the stored snapshot's packs");
      } else {
        tree = TreePolicies.merge(scanned, parent.get().index());
        listener.info(String.format("merged with %s: %,d entries, %,d files from the stored snapshot", ref, tree.entries().size(), tree.fromParent().size()));
      }
    }
    long evictedFiles = 0;
    long evictedBytes = 0;
    if (spec.maxSize().isPresent()) {
      TreePolicies.Eviction eviction = TreePolicies.budget(root, tree, spec.maxSize().getAsLong());
      tree = eviction.kept();
      evictedFiles = eviction.files();
      evictedBytes = eviction.bytes();
      if (evictedFiles > 0) {
        listener.warning(String.format("max-size=%,d bytes: left out the %,d least recently used files (%,d bytes)",
            spec.maxSize().getAsLong(), evictedFiles, evictedBytes));
      }
    }
    takenFromStore = tree.fromParent();
    // Equal to a fallback's snapshot is no reason to leave this id's tag empty: it is pushed, as a new
    // snapshot of the reused packs.
    if (parent.isPresent() && !options.force() && fallbackRef == null && unchanged(root, tree, parent.get(), ref)) {
      return unchangedResult(ref, parent.get(), evictedFiles, evictedBytes);
    }
    Path staging = store.newStagingDirectory();
    Snapshotter.Settings settings = new Snapshotter.Settings(new FastCdcChunker(engine.chunker()), spec.compressionLevel(),
        engine.frameTarget(), engine.packTarget(), engine.workers());
    // Packs are stored as soon as they are finished, while the snapshot goes on.
    PackUploader uploader = new PackUploader(store).reportingTo(progress);
    Snapshotter snapshotter = new Snapshotter(settings, listener, engine.clock()).onPackFinished(uploader::submit).reportingTo(progress)
        .readingStoredPacksFrom(store);
    // On SIGTERM (a cancelled CI job): no new pack, no new upload, and the staging directory goes,
    // within seconds: the CI system sends SIGKILL soon after (10 s on GitHub Actions and GitLab).
    // An upload that has its staged pack open goes on reading it after the name is gone.
    Runnable cleanup = () -> {
      snapshotter.cancel();
      uploader.abandon(CANCEL_PATIENCE);
      deleteQuietly(staging);
    };
    try (CleanupOnExit hook = CleanupOnExit.register("cachemount-push-cleanup", cleanup); uploader) {
      long snapshotStarted = System.nanoTime();
      // --force is the repair for damaged blobs: it references nothing stored before.
      String parentName = fallbackRef != null ? fallbackRef : ref;
      Optional<ReuseSource> reuseParent = options.force() ? Optional.empty() : parent.map(p -> new ReuseSource(p, Optional.empty(), parentName, true));
      if (reuseParent.isPresent() && store.claimsKnownBlobs()) {
        // A prune elsewhere may remove the snapshot this push builds on (an older key) and collect its
        // packs while the tree is chunked, the long part: claimed now, they are spared for the grace
        // period (the publication claims them again before the tag moves).
        for (SnapshotIndex.PackRef pack : reuseParent.get().snapshot().index().packs()) {
          store.claimBlob(pack.digest(), pack.size(), Optional.empty());
        }
      }
      StagedSnapshot staged = snapshotter.snapshot(root, tree, scanStarted, staging, reuseParent, options.force() ? List.of() : others);
      if (!staged.storedVersions().isEmpty()) {
        // Told once already (the snapshot kept the stored version): the view reads them from the packs too, without a second warning.
        java.util.Set<String> fromStore = new java.util.HashSet<>(takenFromStore);
        fromStore.addAll(staged.storedVersions());
        takenFromStore = fromStore;
      }
      if (spec.image().isEmpty()) {
        turn.close(); // the tree is read: what follows only stores what was read (an image view reads it again)
      }
      long reusedBytes = staged.reused().stream().mapToLong(ReusedPack::size).sum();
      listener.info(String.format("chunked %,d bytes; packed %,d new bytes into %,d packs and reused %,d earlier packs (%,d bytes) in %d ms",
          staged.index().totalBytes(), staged.chunkBytes(), staged.packs().size(), staged.reused().size(), reusedBytes,
          Engine.millisSince(snapshotStarted)));
      if (parent.isPresent() && !options.force() && fallbackRef == null && staged.index().sameTreeAs(parent.get().index())) {
        listener.info(ref + ": the tree equals the stored snapshot; nothing to push");
        return unchangedResult(ref, parent.get(), evictedFiles, evictedBytes);
      }
      long publishStarted = System.nanoTime();
      progress.begin(Progress.Step.STORING, 0, 0);
      SnapshotPublisher.Published published = SnapshotPublisher.of(store)
          .publish(tag, spec.id(), staged, engine.chunker(), spec.compressionLevel(), engine.frameTarget(), engine.packTarget(),
              lineage(staged, reuseParent, options.force() ? List.of() : others), uploader, tagCheck(store, tag, ref, lastTry));
      listener.info(String.format("uploaded %,d blobs (%,d bytes) and moved the tag in %d ms", published.blobs().uploaded(), published.bytesWritten(),
          Engine.millisSince(publishStarted)));
      checkTagKept(store, tag, ref, published, lastTry);
      SnapshotIndex index = staged.index();
      stored = new StoredTree(index, published.config().created());
      return new OperationResult(spec.id(), ref, published.manifest().digest().toString(), Outcome.PUSHED,
          index.fileCount(), published.config().counts().directories(), published.config().counts().symlinks(),
          index.totalBytes(), earlierBytes + published.bytesWritten(), earlierUploaded + published.blobs().uploaded(), published.blobs().skipped(),
          earlierMounted + published.blobs().mounted(),
          evicted(evictedFiles), evicted(evictedBytes), null, null, Engine.millisSince(started), null, null).withFallback(ref, fallbackRef);
    } finally {
      deleteQuietly(staging);
    }
  }

  /** The index of the snapshot the push stored or found unchanged, and its creation time; null when not read. */
  private record StoredTree(SnapshotIndex index, String created) {}

  private StoredTree stored;
  /** The files of the last tree pushed that a merge took from the stored snapshot, not from the directory. */
  private java.util.Set<String> takenFromStore = java.util.Set.of();

  /**
   * The push's result with its image view ({@code image=}), written from the directory unless the
   * view already shows the snapshot. A push found unchanged by its tree digest read no index: it is
   * read only when the view must be written. A view that fails fails the push's result, which says
   * that the snapshot itself was stored.
   */
  private OperationResult withImageView(SnapshotStore store, Path root, OperationResult pushed, dev.cachemount.core.internal.ExclusiveLock.Held turn)
      throws IOException {
    String ref = pushed.ref();
    try {
      progress.begin(Progress.Step.IMAGE, 0, 0);
      // The target's lock is given up once the view's layers are written, not held through their uploads.
      ImageView.Result view = new ImageView(store, spec.image().get(), listener).compressedWith(spec.imageCompression()).onDirectoryRead(turn::close).takingFromStore(takenFromStore)
          .leavingViewsOf(shown -> newerThan(store, shown, pushed.digest(), ref)).publish(root, Digest.parse(pushed.digest()), () -> {
        if (stored == null) {
          LoadedSnapshot loaded = SnapshotReader.of(store).load(pushed.digest(), ref)
              .orElseThrow(() -> CachemountException.operational(ref + " no longer names snapshot " + pushed.digest() + "; push again", null));
          stored = new StoredTree(loaded.index(), loaded.config().created());
        }
        return new ImageView.Snapshot(stored.index(), stored.created());
      }, spec.compressionLevel(), engine.workers(), options.force());
      listener.info(view.unchanged() ? "the image view " + view.ref() + " already shows this snapshot"
          : String.format("image view %s: %,d layers, %,d reused, wrote %,d bytes", view.ref(), view.layers(), view.layersReused(), view.bytesWritten()));
      return pushed.withImage(view, Engine.millisSince(started));
    } catch (CachemountException e) {
      throw new SnapshotStoredException(new CachemountException(e.kind(), snapshotStored(pushed) + ", but its image view image=" + spec.image().get()
          + " failed: " + e.getMessage()), e, pushed);
    } catch (IOException e) {
      throw new SnapshotStoredException(IoErrors.failed(snapshotStored(pushed) + ", but the image view image=" + spec.image().get(), e), e, pushed);
    }
  }

  /** Whether the snapshot {@code shown} is another than {@code ours} and built on it ({@link #builtOn}). */
  private static boolean newerThan(SnapshotStore store, String shown, String ours, String ref) {
    try {
      return !shown.equals(ours) && builtOn(store, Digest.parse(shown), Digest.parse(ours), ref);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** What a failed image view's message says first: the snapshot itself is stored. */
  private static String snapshotStored(OperationResult pushed) {
    return pushed.result() == Outcome.PUSHED ? "pushed " + pushed.digest() + " to " + pushed.ref() : pushed.ref() + " was unchanged";
  }

  /**
   * For a merge: the tag must still name what this push merged with ({@link #MERGE_TRIES}). The
   * registry offers no compare-and-set, so two merges that look within the same moment can still
   * both move it; the window is the time between this look and the manifest's upload.
   */
  private SnapshotPublisher.TagCheck tagCheck(SnapshotStore store, String tag, String ref, boolean lastTry) {
    if (spec.mode().orElse(CacheSpec.Mode.MIRROR) != CacheSpec.Mode.MERGE || options.force()) {
      return SnapshotPublisher.TagCheck.NONE;
    }
    Optional<Digest> mergedWith = tagAtLoad;
    return (written, blobs) -> {
      Optional<Digest> now = tagDigest(store, tag);
      if (now.equals(mergedWith) || now.isEmpty()) {
        return;
      }
      String moved = "another push moved " + ref + " to " + now.get() + " while this merge built on "
          + mergedWith.map(Digest::toString).orElse("no snapshot");
      if (!lastTry) {
        earlierBytes += written;
        earlierUploaded += blobs.uploaded();
        earlierMounted += blobs.mounted();
        throw new TagMovedException(moved);
      }
      listener.warning(moved + ", on each of this merge's " + MERGE_TRIES + " tries; it moves the tag anyway, so files that only"
          + " the other push stored are left out of the tag until their directory is pushed again");
    };
  }

  /**
   * How long a merge to a store without {@link MergeLock} (a registry) waits after moving the tag
   * before it looks whether the tag still holds its files: another merge that looked at the tag
   * before this one moved it uploads its manifest within a request's time of that look (about 100
   * ms was seen on two busy cores), and so has moved the tag by then, over this one's files.
   */
  static final java.time.Duration SETTLE = java.time.Duration.ofSeconds(1);

  /**
   * For a merge to a store without {@link MergeLock}: once the tag is moved, and {@link #SETTLE}
   * later, the tag must name this push's snapshot or one built on it (whose config's parent, or its
   * parent's, up to {@link #LINEAGE_LOOK} snapshots back, is this one); otherwise a merge that
   * looked at the tag before this one moved it has moved it since, over this one's files, and this
   * push merges again with the snapshot the tag names ({@link #MERGE_TRIES}). The registry offers no
   * compare-and-set: this closes the window of {@link #tagCheck} for merges that overlap by less than
   * {@link #SETTLE}.
   */
  private void checkTagKept(SnapshotStore store, String tag, String ref, SnapshotPublisher.Published published, boolean lastTry) throws IOException {
    if (spec.mode().orElse(CacheSpec.Mode.MIRROR) != CacheSpec.Mode.MERGE || options.force() || store instanceof dev.cachemount.core.store.LayoutStore) {
      return;
    }
    try {
      Thread.sleep(SETTLE.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return; // a push being stopped: what it stored stays, as it would a moment later
    }
    Digest ours = published.manifest().digest();
    Optional<Digest> builtOnNow = tagAtLoad;
    Optional<Digest> now;
    try {
      now = tagDigest(store, tag);
      // The very snapshot this merge built on: a registry whose reads lag behind its writes (no push
      // puts back an older manifest), not another merge. Looked at again, a few times.
      for (int look = 1; now.isPresent() && now.equals(builtOnNow) && look < STALE_LOOKS; look++) {
        Thread.sleep(SETTLE.toMillis());
        now = tagDigest(store, tag);
      }
      if (now.isPresent() && now.equals(builtOnNow)) {
        listener.warning("the registry still names the snapshot this merge built on under " + ref + ", " + STALE_LOOKS + " s after this merge moved it to "
            + ours + " (a registry whose reads lag behind its writes?); the push keeps its result");
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    } catch (IOException e) {
      // The push stored its snapshot and moved the tag: a look that fails is no reason to fail it.
      if (!Thread.currentThread().isInterrupted()) {
        listener.warning("could not look at the tag again a moment after this merge moved " + ref + " to " + ours + " (" + IoErrors.describe(e)
            + "); if another merge moved it over meanwhile, files that only this push stored are left out of the tag until their directory"
            + " is pushed again");
      }
      return;
    }
    if (now.isEmpty() || now.get().equals(ours) || builtOn(store, now.get(), ours, ref)) {
      return; // none (removed since, by a prune or by hand) is no one's files lost by this push
    }
    if (Thread.currentThread().isInterrupted()) {
      return; // a push being stopped, whose look was cut off: as during the wait
    }
    String moved = "another push moved " + ref + " to " + now.get() + " after this merge moved it to " + ours
        + ", building on what the tag named before";
    if (lastTry) {
      listener.warning(moved + ", on this merge's last try (" + MERGE_TRIES + "); files that only this push stored are left out of the tag"
          + " until their directory is pushed again");
      return;
    }
    earlierBytes += published.bytesWritten();
    earlierUploaded += published.blobs().uploaded();
    earlierMounted += published.blobs().mounted();
    throw new TagMovedException(moved);
  }

  /** How many times, {@link #SETTLE} apart, {@link #checkTagKept} looks at a tag that still names what the merge built on. */
  static final int STALE_LOOKS = 3;

  /** How many snapshots back {@link #checkTagKept} follows the parents of the tag's snapshot. */
  static final int LINEAGE_LOOK = 8;

  /**
   * Whether the snapshot {@code digest} is {@code ours} or built on it, within {@link #LINEAGE_LOOK}
   * parents. One whose lineage cannot be read (a registry that refuses a manifest by digest, a config
   * gone, a read that fails) is not known to hold this push's files: false, and the merge merges again
   * with what the tag names, read by the tag as every try's is.
   */
  private static boolean builtOn(SnapshotStore store, Digest digest, Digest ours, String ref) {
    Digest at = digest;
    for (int i = 0; i < LINEAGE_LOOK && at != null; i++) {
      if (at.equals(ours)) {
        return true;
      }
      try {
        Optional<dev.cachemount.core.store.ManifestBytes> manifest = store.fetchManifest(at.toString());
        if (manifest.isEmpty()) {
          return false;
        }
        SnapshotConfig.Lineage lineage = SnapshotReader.of(store).loadHead(manifest.get(), ref + "@" + at).config().lineage();
        String parent = lineage == null ? null : lineage.parent();
        at = parent == null ? null : Digest.parse(parent);
      } catch (IOException | RuntimeException e) {
        return false; // not a snapshot of ours, damaged, or unreadable: not known to hold this push's files
      }
    }
    return at != null && at.equals(ours);
  }

  /** The digest of the manifest the tag names; empty for none, or one unreadable (a push replaces it). */
  private static Optional<Digest> tagDigest(SnapshotStore store, String tag) throws IOException {
    try {
      return store.fetchManifest(tag).map(ManifestBytes::digest);
    } catch (dev.cachemount.core.store.BlobNotFoundException | dev.cachemount.core.store.DamagedManifestException e) {
      return Optional.empty();
    }
  }

  /** What the new snapshot took from earlier ones, for its config; null when it took nothing. */
  private static SnapshotConfig.Lineage lineage(StagedSnapshot staged, Optional<ReuseSource> parent, List<ReuseSource> others) {
    if (parent.isEmpty() && others.isEmpty()) {
      return null;
    }
    long live = 0;
    for (SnapshotIndex.Frame f : staged.index().frames()) {
      live += f.storedLength();
    }
    long packBytes = staged.index().packBytes();
    double garbage = packBytes == 0 ? 0 : Math.round((1 - (double) live / packBytes) * 10_000) / 10_000.0;
    return new SnapshotConfig.Lineage(
        parent.map(p -> p.snapshot().manifestBytes().digest().toString()).orElse(null),
        others.stream().map(o -> o.name() + "@" + o.snapshot().manifestBytes().digest()).toList(),
        staged.reused().size(), live, garbage);
  }

  /**
   * Whether the tree is the parent's, decided without packing anything: by metadata, and for the
   * files modified too close to the parent's scan to trust their metadata, by reading them.
   */
  private boolean unchanged(Path root, TreePolicies.Tree tree, LoadedSnapshot parent, String ref) throws IOException {
    List<ScannedEntry> scanned = tree.entries();
    UnchangedCheck.Verdict found = UnchangedCheck.compare(scanned, parent.index(), Instant.parse(parent.config().created()));
    // Files a merge took from the stored snapshot are its own: nothing to read.
    UnchangedCheck.Verdict verdict = new UnchangedCheck.Verdict(found.sameMetadata(),
        found.racy().stream().filter(i -> !tree.fromParent().contains(scanned.get(i).path())).toList());
    if (verdict.unchangedWithoutReading()) {
      listener.info(ref + ": no file changed since the stored snapshot (by size and modification time); nothing to push");
      return true;
    }
    if (verdict.sameMetadata()) {
      long checkNanos = System.nanoTime();
      boolean same = ContentCheck.sameContent(root, scanned, verdict.racy(), parent.index(), parent.config().chunker().toParameters());
      listener.info(String.format("%s: read %,d files modified close to the stored snapshot's creation in %d ms: %s", ref,
          verdict.racy().size(), Engine.millisSince(checkNanos), same ? "unchanged, nothing to push" : "changed"));
      return same;
    }
    return false;
  }

  private List<ScannedEntry> scan(Path root, Set<Path> excluded) throws IOException {
    long scanNanos = System.nanoTime();
    // Again on a merge's next try (MERGE_TRIES): its scan is not the earlier try's storing, nor counted with it.
    progress.begin(Progress.Step.SCANNING, 0, 0);
    java.util.concurrent.atomic.AtomicInteger removed = new java.util.concurrent.atomic.AtomicInteger();
    java.util.Queue<Path> deadMarkers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    // A killed pull's temporary files, which the snapshot never holds, go where its marker says it was
    // killed; its marker after them, once the scan is done.
    List<ScannedEntry> scanned;
    try {
      scanned = new TreeScanner(listener, leftover -> dropIfWriterKilled(leftover, removed, deadMarkers)).reportingTo(progress)
          .scan(root, excluded);
    } finally {
      deadMarkers.forEach(dev.cachemount.core.restore.PullMarker::remove);
    }
    if (removed.get() > 0) {
      listener.info("removed " + removed.get() + " temporary files that killed pulls left in " + root);
    }
    listener.info(String.format("scanned %,d entries in %d ms", scanned.size(), Engine.millisSince(scanNanos)));
    return scanned;
  }

  /**
   * Deletes a temporary file (not a directory) of a pull that its marker says was killed, giving its
   * directory back the time the scan saw (or the next push of the untouched tree would find it
   * changed); a dead marker is only noted, and goes after the scan. Says whether it went (or will),
   * or belongs to a pull that still runs (into this directory, whose lock the push does not share:
   * another lock directory), which the scan reports as such and not as safe to delete.
   */
  private static TreeScanner.Leftover dropIfWriterKilled(Path leftover, java.util.concurrent.atomic.AtomicInteger removed,
      java.util.Queue<Path> deadMarkers) {
    if (Files.isDirectory(leftover, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return TreeScanner.Leftover.LEFT;
    }
    switch (dev.cachemount.core.restore.PullMarker.ownerOf(leftover)) {
      case ALIVE, THIS_PROCESS -> {
        return TreeScanner.Leftover.PULL_RUNNING;
      }
      case UNKNOWN -> {
        return TreeScanner.Leftover.LEFT;
      }
      case GONE -> { }
    }
    if (dev.cachemount.core.restore.PullMarker.isMarker(leftover)) {
      deadMarkers.add(leftover);
      return TreeScanner.Leftover.DROPPED;
    }
    if (!dev.cachemount.core.restore.PullMarker.remove(leftover)) {
      return TreeScanner.Leftover.LEFT; // stays, and the scan says so
    }
    removed.incrementAndGet();
    return TreeScanner.Leftover.DROPPED;
  }

  private static <T> T await(Future<T> future) throws IOException {
    return Workers.await(future, "loading the stored snapshot");
  }

  /**
   * Whether the scanned tree is the parent's, decided from the config's tree digest without the index:
   * a plain push (no merge, no size budget, no --force) of a tree none of whose files changed too close
   * to the parent's scan, and whose digest matches, is unchanged once every pack of the parent is
   * still in the store. Anything else is decided by the full comparison.
   *
   * @param scannedDigest the scan's tree digest, computed for a {@link #plainPush}
   */
  private boolean unchangedByTreeDigest(ParentHead parent, String scannedDigest, String ref) {
    String expected = parent.head().config().treeDigest();
    if (expected == null || !plainPush() || !parent.blobsPresent() || parent.racy() || !expected.equals(scannedDigest)) {
      return false;
    }
    listener.info("the tree matches the tree digest of " + ref + "; its index was not needed");
    return true;
  }

  /** A push that stores the directory as it is: no merge, no size budget, no --force. */
  private boolean plainPush() {
    return !options.force() && spec.maxSize().isEmpty() && spec.mode().orElse(CacheSpec.Mode.MIRROR) == CacheSpec.Mode.MIRROR;
  }

  /**
   * The snapshot a push replaces. One that cannot be read because it is corrupt, or whose packs are
   * gone, is reported and replaced; anything that is not a cachemount snapshot fails the push.
   */
  private Optional<LoadedSnapshot> loadParent(SnapshotStore store, String tag, String ref) throws IOException {
    Optional<SnapshotHead> head = loadParentHead(store, tag, ref);
    return head.isEmpty() ? Optional.empty() : completeParent(store, head.get(), false, ref, null);
  }

  /**
   * As {@link #loadParent}, for a parent found once the tree is scanned (a fallback's): its blobs are
   * asked for {@link #PACK_CHECKS} at a time, as the parent's are while the scan runs.
   */
  private Optional<LoadedSnapshot> loadParentAfterScan(SnapshotStore store, SnapshotHead given, String ref, List<ScannedEntry> scanned)
      throws IOException {
    ExecutorService checks = Workers.pool("cachemount-parent", PACK_CHECKS);
    try {
      ParentHead head = checkPacks(store, given, ref, checks, CompletableFuture.completedFuture(scanned));
      return completeParent(store, head.head(), head.blobsPresent(), ref, head.index());
    } finally {
      Workers.stop(checks);
    }
  }

  /**
   * How many existence checks of the parent's blobs run at once. Each is a {@code HEAD} whose time is
   * the registry's round trip, and a large cache has hundreds of packs (10 GB: about 300): an
   * unchanged push of 619 packs through a proxy adding 10 ms each way took 4.7 s four at a time,
   * 2.0 s sixteen at a time (docs/benchmarks.md); on loopback the same within noise.
   */
  static final int PACK_CHECKS = 16;

  /**
   * A stored snapshot's manifest and config, whether the store still holds its index and every pack,
   * whether a file of the scan was modified too close to (or after) the snapshot's scan for its size
   * and time to vouch for it (true when not known), and the index when the loader read it ahead of
   * need (else null).
   */
  private record ParentHead(SnapshotHead head, boolean blobsPresent, boolean racy, EarlyIndex index) {}

  /** The parent read with its index by the loader, or what reading it threw, to be thrown where it is used. */
  private record EarlyIndex(LoadedSnapshot loaded, Throwable failure) {
    LoadedSnapshot get() throws IOException {
      if (failure != null) {
        throw Workers.rethrow(failure);
      }
      return loaded;
    }
  }

  /**
   * Whether the push will need the parent's index once the scan is done: always but for a plain push,
   * which needs it unless the tree digest shows the tree unchanged, and that check is not made when a
   * file is racy (see {@link #unchangedByTreeDigest}). That is the case of every push after a build
   * that changed the cache, which then reads the index while the parent's packs are checked instead
   * of after.
   */
  private boolean needsIndex(boolean racy) {
    return !plainPush() || racy;
  }

  /**
   * The parent's head, and whether its index and packs are all in the store, asked
   * {@link #PACK_CHECKS} at a time on {@code pool} (of which this task holds one thread): the answer
   * is needed whether or not the tree changed, and it comes while the caller scans. The index is
   * asked for too: this machine may hold a copy of it ({@code IndexCache}), which must not hide
   * that the store lost it.
   */
  private Optional<ParentHead> loadParentHeadAndPacks(SnapshotStore store, String tag, String ref, ExecutorService pool,
      CompletableFuture<List<ScannedEntry>> scanDone) throws IOException {
    Optional<SnapshotHead> head = loadParentHead(store, tag, ref);
    return head.isEmpty() ? Optional.empty() : Optional.of(checkPacks(store, head.get(), ref, pool, scanDone));
  }

  /** The rest of {@link #loadParentHeadAndPacks}, for a head already read. */
  private ParentHead checkPacks(SnapshotStore store, SnapshotHead head, String ref, ExecutorService pool,
      CompletableFuture<List<ScannedEntry>> scanDone) throws IOException {
    List<Future<Boolean>> checks = new ArrayList<>();
    for (Descriptor blob : head.manifest().layers()) {
      Digest digest;
      try {
        digest = Digest.parse(blob.digest());
      } catch (IllegalArgumentException e) {
        return new ParentHead(head, false, true, null);
      }
      long size = blob.size();
      checks.add(pool.submit(() -> store.hasBlob(digest, size)));
    }
    // While the checks run: the index, when the scan (done by now, or soon) says the push needs it.
    EarlyIndex index = null;
    List<ScannedEntry> scanned = await(scanDone);
    boolean racy = scanned == null || UnchangedCheck.anyRacy(scanned, Instant.parse(head.config().created()));
    if (scanned != null && needsIndex(racy)) {
      try {
        index = new EarlyIndex(SnapshotReader.of(store).load(head, ref), null);
      } catch (IOException | RuntimeException e) {
        index = new EarlyIndex(null, e);
      }
    }
    boolean present = true;
    for (Future<Boolean> check : checks) {
      present &= await(check);
    }
    return new ParentHead(head, present, racy, index);
  }

  /** The parent's manifest and config; empty when there is none or when they are corrupt (reported). */
  private Optional<SnapshotHead> loadParentHead(SnapshotStore store, String tag, String ref) throws IOException {
    Optional<ManifestBytes> manifest;
    tagAtLoad = Optional.empty();
    try {
      manifest = store.fetchManifest(tag);
      tagAtLoad = manifest.map(ManifestBytes::digest);
    } catch (dev.cachemount.core.store.BlobNotFoundException | dev.cachemount.core.store.DamagedManifestException e) {
      // A tag whose manifest is gone, or damaged on disk (a flipped byte, cut short): replaced, as a
      // snapshot whose config is gone or damaged is. Failing here left no way out but deleting the
      // blob by hand. Any other failure stands: a manifest too large to be a snapshot's (a foreign
      // image, never overwritten), a registry's answer that does not match its digest (a proxy's
      // error, perhaps over a newer cachemount's snapshot).
      return unreadable(e, ref);
    }
    if (manifest.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(SnapshotReader.of(store).loadHead(manifest.get(), ref));
    } catch (CachemountException e) {
      return unreadable(e, ref);
    }
  }

  /**
   * The parent with its index; empty when the index is corrupt, or it or a pack is gone (reported).
   *
   * @param blobsPresent the store is known to hold the index and every pack: not asked again
   * @param early the parent as the loader read it ahead of need, or null: read here
   */
  private Optional<LoadedSnapshot> completeParent(SnapshotStore store, SnapshotHead head, boolean blobsPresent, String ref, EarlyIndex early)
      throws IOException {
    LoadedSnapshot parent;
    try {
      parent = early != null ? early.get() : SnapshotReader.of(store).load(head, ref);
    } catch (CachemountException e) {
      return unreadable(e, ref);
    }
    // A snapshot whose blobs are gone cannot stand for the tree, however equal the trees are. The
    // index may have come from this machine's copy, so the store is asked for it too.
    Descriptor indexLayer = head.manifest().layers().get(0);
    if (!blobsPresent && !store.hasBlob(Digest.parse(indexLayer.digest()), indexLayer.size())) {
      listener.warning("the stored snapshot " + ref + " lacks its index, or holds it cut short; pushing a complete new one");
      return Optional.empty();
    }
    // The index lists the packs of the manifest (checked by the reader).
    for (SnapshotIndex.PackRef pack : blobsPresent ? List.<SnapshotIndex.PackRef>of() : parent.index().packs()) {
      if (!store.hasBlob(pack.digest(), pack.size())) {
        listener.warning("the stored snapshot " + ref + " lacks pack " + pack.digest() + ", or holds it cut short; pushing a complete new one");
        return Optional.empty();
      }
    }
    return Optional.of(parent);
  }

  private <T> Optional<T> unreadable(CachemountException e, String ref) {
    if (e.kind() != FailureKind.INTEGRITY) {
      throw e;
    }
    listener.warning("the stored snapshot " + ref + " is unreadable (" + e.getMessage() + "); pushing a complete new one");
    return Optional.empty();
  }

  private static Long evicted(long n) {
    return n == 0 ? null : n;
  }

  /**
   * An unchanged push decided from the parent's head: its config's counts describe the tree. What it
   * wrote is 0, but for a merge's earlier tries ({@link #earlierBytes}), whose blobs were written.
   */
  private OperationResult unchangedResult(String ref, SnapshotHead parent) {
    SnapshotConfig.Counts counts = parent.config().counts();
    return new OperationResult(spec.id(), ref, parent.manifestBytes().digest().toString(), Outcome.UNCHANGED,
        counts.files(), counts.directories(), counts.symlinks(), counts.bytes(), earlierBytes, earlierUploaded, 0L, earlierMounted, null, null, null, null,
        Engine.millisSince(started), null, null);
  }

  private OperationResult unchangedResult(String ref, LoadedSnapshot parent, long evictedFiles, long evictedBytes) {
    SnapshotIndex index = parent.index();
    stored = new StoredTree(index, parent.config().created());
    return new OperationResult(spec.id(), ref, parent.manifestBytes().digest().toString(), Outcome.UNCHANGED,
        index.fileCount(), parent.config().counts().directories(), parent.config().counts().symlinks(), index.totalBytes(),
        earlierBytes, earlierUploaded, 0L, earlierMounted, evicted(evictedFiles), evicted(evictedBytes), null, null, Engine.millisSince(started), null, null);
  }

  private void deleteQuietly(Path dir) {
    try {
      FileTrees.deleteTree(dir);
    } catch (IOException e) {
      listener.warning("could not remove staging directory " + dir + ": " + e.getMessage());
    }
  }
}
