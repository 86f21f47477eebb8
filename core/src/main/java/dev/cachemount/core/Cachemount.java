package dev.cachemount.core;

import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.chunk.FastCdcChunker;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.FileTrees;
import dev.cachemount.core.restore.Restorer;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.ScannedEntry;
import dev.cachemount.core.snapshot.SnapshotPublisher;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.snapshot.Snapshotter;
import dev.cachemount.core.snapshot.StagedSnapshot;
import dev.cachemount.core.snapshot.TreeScanner;
import dev.cachemount.core.snapshot.UnchangedCheck;
import dev.cachemount.core.store.BlobNotFoundException;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.SnapshotStore;
import dev.cachemount.core.store.StoreFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The library's entry point: push a directory to a store as a snapshot, pull a snapshot back into a
 * directory, inspect what is stored. Every method validates its input, runs to completion or throws
 * a {@link CachemountException} whose {@linkplain CachemountException#kind() kind} says what went
 * wrong; nothing the caller had is left half-written. Thread-safe; operations on different cache ids
 * may run concurrently.
 */
public final class Cachemount {
  /** Frames close once they hold this many bytes of chunks. */
  public static final int DEFAULT_FRAME_TARGET = 16 * 1024;
  /** Packs close once they hold this many bytes. */
  public static final long DEFAULT_PACK_TARGET = 32L << 20;

  private final Map<String, String> env;
  private final Path home;
  private final Clock clock;
  private final int workers;
  private final ChunkerParameters chunker;
  private final int frameTarget;
  private final long packTarget;
  private final StoreFactory stores;

  private Cachemount(Builder b) {
    this.env = Map.copyOf(b.env);
    this.home = b.home;
    this.clock = b.clock;
    this.workers = b.workers;
    this.chunker = b.chunker;
    this.frameTarget = b.frameTarget;
    this.packTarget = b.packTarget;
    Duration grace = b.layoutGrace;
    Clock storeClock = b.clock;
    this.stores = b.stores != null ? b.stores
        : (spec, defaultDir, listener) -> new LayoutStore(spec.storeDir().orElse(defaultDir), grace, storeClock, listener::warning);
  }

  /** A client configured from this process's environment and user. */
  public static Cachemount create() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Parses a {@code --cache-id} spec relative to this client's home directory. */
  public CacheSpec parseSpec(String text) {
    return CacheSpec.parse(text, home);
  }

  /** {@code ${XDG_CACHE_HOME:-~/.cache}/cachemount/store}: where local caches live by default. */
  public Path defaultStoreDir() {
    String xdg = env.get("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute() ? Path.of(xdg) : home.resolve(".cache");
    return base.resolve("cachemount").resolve("store");
  }

  /** The store a spec names. The caller closes it. */
  public SnapshotStore openStore(CacheSpec spec, OperationListener listener) {
    return stores.open(spec, defaultStoreDir(), listener);
  }

  /**
   * Snapshots the spec's target and stores it under the spec's id, unless the stored snapshot
   * already holds the same tree.
   */
  public OperationResult push(CacheSpec spec, OperationListener listener) {
    return push(spec, PushOptions.DEFAULT, listener);
  }

  /** {@link #push(CacheSpec, OperationListener)} with options. */
  public OperationResult push(CacheSpec spec, PushOptions options, OperationListener listener) {
    long started = System.nanoTime();
    warnAboutFileNameEncoding(listener);
    Path target = spec.requireTarget("push");
    if (!Files.isDirectory(target)) {
      throw CachemountException.usage(Files.exists(target, LinkOption.NOFOLLOW_LINKS)
          ? "target " + target + " is not a directory; set target= to the cache directory"
          : "target " + target + " does not exist, so there is nothing to push; check the path (a cache directory appears once a build has filled it)");
    }
    try (SnapshotStore store = openStore(spec, listener)) {
      String tag = spec.id();
      String ref = store.describe(tag);
      Optional<LoadedSnapshot> parent = options.force() ? Optional.empty() : loadParent(store, tag, ref, listener);
      Path root = target.toRealPath();
      Instant scanStarted = clock.instant();
      long scanNanos = System.nanoTime();
      List<ScannedEntry> scanned = new TreeScanner(listener).scan(root, storeInside(root, store, listener));
      listener.info(String.format("scanned %,d entries in %d ms", scanned.size(), millisSince(scanNanos)));
      if (parent.isPresent() && UnchangedCheck.unchanged(scanned, parent.get().index(),
          SnapshotPublisher.parseCreated(parent.get().config().created()))) {
        listener.info(ref + ": no file changed since the stored snapshot (by size and modification time); nothing to push");
        return unchanged(spec, ref, parent.get(), started);
      }
      Path staging = store.newStagingDirectory();
      try {
        Snapshotter.Settings settings = new Snapshotter.Settings(new FastCdcChunker(chunker), spec.compressionLevel(), frameTarget, packTarget, workers);
        long snapshotStarted = System.nanoTime();
        StagedSnapshot staged = new Snapshotter(settings, listener, clock).snapshot(root, scanned, scanStarted, staging);
        listener.info(String.format("read, chunked and packed %,d bytes into %,d packs in %d ms", staged.index().totalBytes(),
            staged.packs().size(), millisSince(snapshotStarted)));
        if (parent.isPresent() && staged.index().sameTreeAs(parent.get().index())) {
          listener.info(ref + ": the tree equals the stored snapshot; nothing to push");
          return unchanged(spec, ref, parent.get(), started);
        }
        long publishStarted = System.nanoTime();
        SnapshotPublisher.Published published =
            new SnapshotPublisher(store, store).publish(tag, spec.id(), staged, chunker, spec.compressionLevel(), frameTarget, packTarget);
        listener.info(String.format("stored %,d blobs (%,d bytes) and moved the tag in %d ms", published.blobsWritten(), published.bytesWritten(),
            millisSince(publishStarted)));
        SnapshotIndex index = staged.index();
        return new OperationResult(spec.id(), ref, published.manifest().digest().toString(), Outcome.PUSHED,
            index.fileCount(), published.config().counts().directories(), published.config().counts().symlinks(),
            index.totalBytes(), published.bytesWritten(), published.blobsWritten(), published.blobsPresent(), millisSince(started), null, null);
      } finally {
        deleteQuietly(staging, listener);
      }
    } catch (IOException e) {
      throw CachemountException.operational("push of cache '" + spec.id() + "' failed: " + IoErrors.describe(e), e);
    } catch (UncheckedIOException e) {
      throw CachemountException.operational("push of cache '" + spec.id() + "' failed: " + IoErrors.describe(e.getCause()), e);
    }
  }

  /** Restores the snapshot stored under the spec's id into the spec's target; a miss writes nothing. */
  public OperationResult pull(CacheSpec spec, OperationListener listener) {
    long started = System.nanoTime();
    warnAboutFileNameEncoding(listener);
    Path target = spec.requireTarget("pull");
    try (SnapshotStore store = openStore(spec, listener)) {
      String ref = store.describe(spec.id());
      Optional<LoadedSnapshot> loaded = new SnapshotReader(store, store).load(spec.id(), ref);
      if (loaded.isEmpty()) {
        listener.info(ref + ": no snapshot stored for cache id '" + spec.id() + "' (a miss); the target was not touched");
        return new OperationResult(spec.id(), ref, null, Outcome.MISS, 0, 0, 0, 0, 0, null, null, millisSince(started), null, null);
      }
      LoadedSnapshot snapshot = loaded.get();
      Restorer.Stats stats;
      try {
        stats = new Restorer(store, listener, workers).restore(snapshot.index(), target, ref);
      } catch (BlobNotFoundException e) {
        throw replacedMeanwhile(store, spec.id(), ref, snapshot, e);
      }
      return new OperationResult(spec.id(), ref, snapshot.manifestBytes().digest().toString(), Outcome.RESTORED,
          stats.files(), stats.directories(), stats.symlinks(), snapshot.index().totalBytes(),
          snapshot.bytesRead() + stats.bytesRead(), null, null, millisSince(started), null, null);
    } catch (IOException e) {
      throw CachemountException.operational("pull of cache '" + spec.id() + "' failed: " + IoErrors.describe(e), e);
    } catch (UncheckedIOException e) {
      throw CachemountException.operational("pull of cache '" + spec.id() + "' failed: " + IoErrors.describe(e.getCause()), e);
    }
  }

  /**
   * A blob that vanished during a pull is an integrity failure, unless the tag moved meanwhile and
   * the blob was collected with the snapshot it belonged to: then pulling again is the remedy.
   */
  private static CachemountException replacedMeanwhile(SnapshotStore store, String tag, String ref, LoadedSnapshot pulled,
      BlobNotFoundException e) throws IOException {
    Optional<dev.cachemount.core.store.ManifestBytes> now = store.fetchManifest(tag);
    if (now.isPresent() && !now.get().digest().equals(pulled.manifestBytes().digest())) {
      return new CachemountException(FailureKind.OPERATIONAL,
          "the snapshot " + ref + " was replaced by a push while this pull read it; run the pull again", e);
    }
    return e;
  }

  /** What is stored under the spec's id, or empty when nothing is. */
  public Optional<SnapshotSummary> inspect(CacheSpec spec) {
    try (SnapshotStore store = openStore(spec, OperationListener.NONE)) {
      String ref = store.describe(spec.id());
      return new SnapshotReader(store, store).load(spec.id(), ref).map(s -> summary(ref, s));
    } catch (IOException e) {
      throw CachemountException.operational("inspect of cache '" + spec.id() + "' failed: " + IoErrors.describe(e), e);
    }
  }

  private static SnapshotSummary summary(String ref, LoadedSnapshot s) {
    List<SnapshotSummary.Pack> packs = new ArrayList<>();
    for (SnapshotIndex.PackRef p : s.index().packs()) {
      packs.add(new SnapshotSummary.Pack(p.digest().toString(), p.size()));
    }
    return new SnapshotSummary(ref, s.manifestBytes().digest().toString(), s.config(), s.manifest().layers().get(0).size(), packs);
  }

  /**
   * The snapshot a push replaces. One that cannot be read because it is corrupt is reported and
   * replaced; anything else that is not ours is left alone and fails the push.
   */
  private static Optional<LoadedSnapshot> loadParent(SnapshotStore store, String tag, String ref, OperationListener listener) throws IOException {
    Optional<LoadedSnapshot> parent;
    try {
      parent = new SnapshotReader(store, store).load(tag, ref);
    } catch (CachemountException e) {
      if (e.kind() != FailureKind.INTEGRITY) {
        throw e;
      }
      listener.warning("the stored snapshot " + ref + " is unreadable (" + e.getMessage() + "); pushing a complete new one");
      return Optional.empty();
    }
    if (parent.isPresent()) {
      // A snapshot whose packs are gone cannot stand for the tree, however equal the trees are.
      for (SnapshotIndex.PackRef pack : parent.get().index().packs()) {
        if (!store.hasBlob(pack.digest())) {
          listener.warning("the stored snapshot " + ref + " lacks pack " + pack.digest() + "; pushing a complete new one");
          return Optional.empty();
        }
      }
    }
    return parent;
  }

  /** The store's directory when it lies inside {@code root}: a snapshot must not contain its own store. */
  private static Set<Path> storeInside(Path root, SnapshotStore store, OperationListener listener) throws IOException {
    if (store instanceof LayoutStore layout) {
      Path dir = layout.root();
      Path existing = dir;
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      Path real = existing == null ? dir : existing.toRealPath().resolve(existing.relativize(dir));
      if (real.startsWith(root)) {
        if (real.equals(root)) {
          throw CachemountException.usage("the store " + dir + " is the target itself; set dir= to a directory outside the target");
        }
        listener.warning("the store " + dir + " lies inside the target " + root + "; it is left out of the snapshot");
        // Created now, before the scan, so that this push and the next see the same tree around it.
        layout.create();
        return Set.of(real);
      }
    }
    return Set.of();
  }

  private OperationResult unchanged(CacheSpec spec, String ref, LoadedSnapshot parent, long started) {
    SnapshotIndex index = parent.index();
    return new OperationResult(spec.id(), ref, parent.manifestBytes().digest().toString(), Outcome.UNCHANGED,
        index.fileCount(), parent.config().counts().directories(), parent.config().counts().symlinks(), index.totalBytes(),
        0, 0L, 0L, millisSince(started), null, null);
  }

  /** Names are stored as UTF-8; a JVM started under another locale cannot read or write non-ASCII names. */
  private static void warnAboutFileNameEncoding(OperationListener listener) {
    String encoding = System.getProperty("sun.jnu.encoding", "UTF-8");
    if (!encoding.equalsIgnoreCase("UTF-8") && !encoding.equalsIgnoreCase("UTF8")) {
      listener.warning("this JVM reads file names as " + encoding + ", so names that are not ASCII are skipped or cannot be restored;"
          + " run it with LC_ALL=C.UTF-8 (the ./cachemount launcher does)");
    }
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  private static void deleteQuietly(Path dir, OperationListener listener) {
    try {
      FileTrees.deleteTree(dir);
    } catch (IOException e) {
      listener.warning("could not remove staging directory " + dir + ": " + e.getMessage());
    }
  }


  /** Settings of a client; the defaults suit the CLI. */
  public static final class Builder {
    private Map<String, String> env = System.getenv();
    private Path home = Path.of(System.getProperty("user.home"));
    private Clock clock = Clock.systemUTC();
    private int workers = Runtime.getRuntime().availableProcessors();
    private ChunkerParameters chunker = ChunkerParameters.DEFAULT;
    private int frameTarget = DEFAULT_FRAME_TARGET;
    private long packTarget = DEFAULT_PACK_TARGET;
    private Duration layoutGrace = LayoutStore.DEFAULT_GRACE;
    private StoreFactory stores;

    private Builder() {}

    /** Opens stores some other way than the default OCI layout directories (tests, other backends). */
    public Builder stores(StoreFactory stores) {
      this.stores = stores;
      return this;
    }

    /** The environment to read XDG_CACHE_HOME from. */
    public Builder env(Map<String, String> env) {
      this.env = env;
      return this;
    }

    public Builder home(Path home) {
      this.home = home;
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** Threads that read, chunk and compress during a push. */
    public Builder workers(int workers) {
      if (workers < 1) {
        throw new IllegalArgumentException("workers must be at least 1");
      }
      this.workers = workers;
      return this;
    }

    public Builder chunker(ChunkerParameters chunker) {
      this.chunker = chunker;
      return this;
    }

    public Builder frameTarget(int frameTarget) {
      if (frameTarget < 1 || frameTarget > dev.cachemount.core.index.FormatLimits.MAX_FRAME / 2) {
        throw new IllegalArgumentException("frame target out of range: " + frameTarget);
      }
      this.frameTarget = frameTarget;
      return this;
    }

    public Builder packTarget(long packTarget) {
      if (packTarget < 1) {
        throw new IllegalArgumentException("pack target must be positive");
      }
      this.packTarget = packTarget;
      return this;
    }

    /** How old unreferenced blobs of a layout store must be before a push collects them. */
    public Builder layoutGrace(Duration grace) {
      if (grace.isNegative() || grace.isZero()) {
        throw new IllegalArgumentException("the grace period must be positive: a zero period would collect the blobs of pushes in progress");
      }
      this.layoutGrace = grace;
      return this;
    }

    public Cachemount build() {
      return new Cachemount(this);
    }
  }
}
