package dev.cachemount.core;

import dev.cachemount.core.chunk.ChunkerParameters;
import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.internal.InterruptWatch;
import dev.cachemount.core.registry.RegistryCredential;
import dev.cachemount.core.registry.RegistryCredentials;
import dev.cachemount.core.registry.RegistryRef;
import dev.cachemount.core.registry.RegistrySettings;
import dev.cachemount.core.registry.RegistryStore;
import dev.cachemount.core.restore.SnapshotCheck;
import dev.cachemount.core.snapshot.LoadedSnapshot;
import dev.cachemount.core.snapshot.ReuseSource;
import dev.cachemount.core.snapshot.SnapshotHead;
import dev.cachemount.core.snapshot.SnapshotReader;
import dev.cachemount.core.store.IndexCache;
import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.ManifestBytes;
import dev.cachemount.core.store.SnapshotStore;
import dev.cachemount.core.store.StoreFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
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
 * may run concurrently, and operations on one target take turns (see {@link Builder#targetLockTimeout}).
 *
 * <p>An operation whose thread is interrupted stops and throws a {@code CachemountException} that says
 * so (the interrupt stays set). An {@link OperationListener} is called on the operation's threads,
 * never after the operation returned; an exception a listener throws ends the operation with it, as
 * it stands (a push may have moved its tag by then: the next push finds it unchanged).
 */
public final class Cachemount {
  /** Frames close once they hold this many bytes of chunks. */
  public static final int DEFAULT_FRAME_TARGET = 16 * 1024;
  /** Packs close once they hold this many bytes. */
  public static final long DEFAULT_PACK_TARGET = 32L << 20;

  private final Map<String, String> env;
  private final Path home;
  private final Engine engine;
  private final Duration layoutGrace;
  private final Duration targetLockTimeout;
  private final RegistrySettings registry;
  private final StoreFactory customStores;
  private final StoreFactory stores;
  private final PresetDirectories presets;

  private Cachemount(Map<String, String> env, Path home, Engine engine, Duration layoutGrace, Duration targetLockTimeout,
      RegistrySettings registry, StoreFactory stores, PresetDirectories presets) {
    this.env = Map.copyOf(env);
    this.home = home;
    this.presets = presets;
    this.engine = engine;
    this.layoutGrace = layoutGrace;
    this.targetLockTimeout = targetLockTimeout;
    this.registry = registry;
    this.customStores = stores;
    this.stores = stores != null ? stores : this::openDefault;
  }

  private SnapshotStore openDefault(CacheSpec spec, Path defaultDir, OperationListener listener) {
    return switch (spec.type()) {
      case LOCAL -> new LayoutStore(spec.storeDir().orElse(defaultDir), layoutGrace, engine.clock(), listener::warning);
      case REGISTRY -> {
        RegistryRef ref = spec.ref().orElseThrow();
        yield new RegistryStore(ref, registry, spec.insecure(), RegistryCredentials.lookup(ref, registry, env, home, listener),
            Optional.of(defaultDir.resolveSibling("registry-blobs")), defaultDir.resolveSibling(".cachemount-tmp-staging"),
            IndexCache.at(defaultDir.resolveSibling("indexes")), listener);
      }
    };
  }

  /** This client with other registry settings (a front's {@code --ca-file}, {@code --insecure-registry}, ...). */
  public Cachemount withRegistry(RegistrySettings settings) {
    return new Cachemount(env, home, engine, layoutGrace, targetLockTimeout, settings, customStores, presets);
  }

  /**
   * This client inside a Maven build whose local repository is {@code repository}: that is what a
   * spec's {@code preset=maven} names (the Maven plugin's front hands it over), not what the settings
   * files say.
   */
  public Cachemount withMavenLocalRepository(Path repository) {
    return new Cachemount(env, home, engine, layoutGrace, targetLockTimeout, registry, customStores, presets.withMavenLocalRepository(repository));
  }

  /** The registry settings in force. */
  public RegistrySettings registry() {
    return registry;
  }

  /**
   * A credential whose password the user piped in ({@code --password-stdin}) and whose user name is
   * {@code CACHEMOUNT_REGISTRY_USER}.
   *
   * @throws CachemountException of kind USAGE when the variable is unset or the password empty
   */
  public RegistryCredential passwordFromStdin(String password) {
    String user = env.get(RegistryCredentials.USER_VARIABLE);
    if (user == null || user.isEmpty()) {
      throw CachemountException.usage("--password-stdin needs the user name in " + RegistryCredentials.USER_VARIABLE);
    }
    String p = password.strip();
    if (p.isEmpty()) {
      throw CachemountException.usage("--password-stdin read an empty password from standard input: pipe the password or token in,"
          + " as in printf '%s' \"$TOKEN\" | cachemount push --password-stdin ... (is the variable that holds it set in this job?)");
    }
    return new RegistryCredential(user, p, "--password-stdin with " + RegistryCredentials.USER_VARIABLE);
  }

  /** A client configured from this process's environment and user. */
  public static Cachemount create() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Parses a {@code --cache-id} spec relative to this client's home directory. A {@code preset=}
   * without {@code target=} is looked up now ({@link PresetDirectories}), its tool found on the PATH of
   * this client's environment and run with it.
   */
  public CacheSpec parseSpec(String text) {
    return parseSpec(text, null);
  }

  /** Parses a spec as {@link #parseSpec(String)} does, its relative {@code dir=} and {@code target=} relative to {@code base}. */
  public CacheSpec parseSpec(String text, Path base) {
    return CacheSpec.parse(text, home, base, presets::directory);
  }

  /** cachemount's own directory ({@code ${XDG_CACHE_HOME:-~/.cache}/cachemount}): the default store, locks, index cache, staging. */
  private Path stateDirectory() {
    return defaultStoreDir().getParent();
  }

  /** {@code ${XDG_CACHE_HOME:-~/.cache}/cachemount/store}: where local caches live by default. */
  public Path defaultStoreDir() {
    String xdg = env.get("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute() ? Path.of(xdg) : home.resolve(".cache");
    return base.resolve("cachemount").resolve("store");
  }

  /**
   * Checks the specs of one push command before any runs: each has a target and a tag it can push to
   * (not a pinned digest), and no two name the same snapshot (the second would replace the first).
   *
   * @throws CachemountException USAGE naming the id (both ids, for a conflict)
   */
  public void checkPushes(List<CacheSpec> specs) {
    for (CacheSpec spec : specs) {
      spec.requireTarget("push");
      spec.pushTag();
    }
    SpecConflicts.requireDistinctSnapshots(specs, defaultStoreDir());
  }

  /**
   * Checks the specs of one pull command before any runs: each has a target, and no two have the
   * same target nor one a target inside another's (one would write over the other's files).
   *
   * @throws CachemountException USAGE naming the id (both ids, for a conflict)
   */
  public void checkPulls(List<CacheSpec> specs) {
    for (CacheSpec spec : specs) {
      spec.requireTarget("pull");
    }
    SpecConflicts.requireSeparateTargets(specs);
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
  public OperationResult push(CacheSpec spec, PushOptions options, OperationListener given) {
    refuseUnsafeTarget(spec, false);
    try (ClosableListener listener = new ClosableListener(given);
        SnapshotStore store = openStore(spec, listener);
        InterruptWatch watch = InterruptWatch.ofCurrentThread(store::abort);
        var merging = MergeLock.acquire(spec, store, targetLockTimeout, listener)) {
      try {
        Progress progress = new Progress(spec.id(), "push", Progress.Step.SCANNING);
        listener.started(progress);
        try {
          List<ReuseSource> others = options.force() ? List.of() : loadFrom(spec, store, listener);
          return new PushOperation(engine, spec, options, listener, others, stateDirectory(), targetLockTimeout).reportingTo(progress).run(store)
              .withWarnings(listener.warnings());
        } finally {
          listener.ended(progress);
        }
      } catch (RuntimeException e) {
        throw interrupted(e, watch, "push of cache '" + spec.id() + "'");
      }
    } catch (IOException e) {
      throw IoErrors.failed("closing the store after the push of cache '" + spec.id() + "'", e);
    }
  }

  /**
   * The snapshots a spec's {@code from=} names. One that is missing, damaged, or that the credentials
   * may not read is reported and left out (a push without it stores more, nothing worse); one that is
   * not a cachemount snapshot fails.
   */
  private List<ReuseSource> loadFrom(CacheSpec spec, SnapshotStore store, OperationListener listener) {
    List<ReuseSource> sources = new ArrayList<>();
    if (spec.ref().isEmpty()) {
      for (String id : spec.from()) {
        load(store, id, Optional.empty(), listener).ifPresent(sources::add);
      }
      return sources;
    }
    for (RegistryRef from : spec.fromRefs()) {
      if (from.repository().equals(spec.ref().get().repository())) {
        load(store, from.reference(), Optional.empty(), listener).ifPresent(sources::add);
        continue;
      }
      CacheSpec other = new CacheSpec(spec.id(), StoreType.REGISTRY, Optional.empty(), Optional.empty(), spec.compressionLevel(),
          Optional.of(from), spec.insecure());
      try (SnapshotStore otherStore = openStore(other, listener); InterruptWatch watch = InterruptWatch.ofCurrentThread(otherStore::abort)) {
        load(otherStore, from.reference(), Optional.of(from.repository()), listener).ifPresent(sources::add);
      } catch (IOException e) {
        throw IoErrors.failed("closing the store of from=" + from, e);
      }
    }
    return sources;
  }

  private static Optional<ReuseSource> load(SnapshotStore store, String reference, Optional<String> repository, OperationListener listener) {
    String where = store.describe(reference);
    try {
      Optional<LoadedSnapshot> loaded = SnapshotReader.of(store).load(reference, where);
      if (loaded.isEmpty()) {
        listener.warning("from=" + where + " holds no snapshot; the push goes on without it");
      }
      return loaded.map(s -> new ReuseSource(s, repository, where, false));
    } catch (dev.cachemount.core.snapshot.NotASnapshotException e) {
      throw new CachemountException(FailureKind.OPERATIONAL, "from=" + e.what() + "; from= names snapshots whose chunks the push may"
          + " reuse: point it at a cachemount snapshot, or leave it out", e);
    } catch (NewerFormatException e) {
      listener.warning("from=" + where + " was written by a newer cachemount (" + e.marker() + "); the push goes on without it");
      return Optional.empty();
    } catch (CachemountException e) {
      if (e.kind() == FailureKind.AUTH) {
        // Reuse is an optimisation: a source these credentials may not read costs uploads, not the push.
        listener.warning("from=" + where + " cannot be read with these credentials (" + e.getMessage() + "); the push goes on without"
            + " it and uploads what it would have reused");
        return Optional.empty();
      }
      if (e.kind() != FailureKind.INTEGRITY) {
        throw e;
      }
      listener.warning("from=" + where + " is unreadable (" + e.getMessage() + "); the push goes on without it");
      return Optional.empty();
    } catch (IOException e) {
      throw IoErrors.failed("loading from=" + where, e);
    }
  }

  /**
   * Pulls each spec's cache, runs {@code command} (found on the PATH of this client's environment, run
   * with that environment and this process's standard streams), then pushes each cache, if the
   * command succeeded or {@code when} says always ({@link CachedCommand}).
   *
   * @throws CachemountException USAGE before anything runs, for a command that is not there or specs
   *     that would undo each other
   */
  public CachedCommand.Result run(List<CacheSpec> specs, List<String> command, CachedCommand.PushWhen when, CachedCommand.Report report,
      OperationListener listener) {
    return new CachedCommand(this, env).run(specs, command, when, report, listener);
  }

  /** Restores the snapshot stored under the spec's id into the spec's target; a miss writes nothing. */
  public OperationResult pull(CacheSpec spec, OperationListener given) {
    refuseUnsafeTarget(spec, spec.mode().orElse(null) == CacheSpec.Mode.MIRROR);
    try (ClosableListener listener = new ClosableListener(given); SnapshotStore store = openStore(spec, listener);
        InterruptWatch watch = InterruptWatch.ofCurrentThread(store::abort)) {
      try {
        Progress progress = new Progress(spec.id(), "pull", Progress.Step.FETCHING);
        listener.started(progress);
        try {
          return new PullOperation(engine, spec, listener, stateDirectory(), targetLockTimeout).reportingTo(progress).run(store)
              .withWarnings(listener.warnings());
        } finally {
          listener.ended(progress);
        }
      } catch (RuntimeException e) {
        throw interrupted(e, watch, "pull of cache '" + spec.id() + "'");
      }
    } catch (IOException e) {
      throw IoErrors.failed("closing the store after the pull of cache '" + spec.id() + "'", e);
    }
  }

  /**
   * Refuses, before anything is read or written, a target that cannot be a cache directory: the file
   * system root (what {@code target=$CACHE_DIR/} becomes when the variable is empty), which a push
   * would read whole (/proc included) and a pull would write into; and for a pull that removes what
   * the snapshot lacks ({@code mirror}), the home directory ({@code $HOME}, and the account's) or a
   * directory that holds it.
   */
  private void refuseUnsafeTarget(CacheSpec spec, boolean mirror) {
    if (spec.target().isEmpty()) {
      return; // the operation says that target= is needed
    }
    Path target = spec.target().get();
    Path real;
    Path realHome;
    try {
      real = StoreOverlap.real(target);
      realHome = StoreOverlap.real(home);
    } catch (IOException e) {
      return; // the operation reports what it cannot read
    }
    if (real.getParent() == null) {
      throw CachemountException.usage("target " + target + " is the file system root " + real + ", not a cache directory; set target= to the"
          + " cache directory (a target=$DIR/ whose variable is empty or unset names /)");
    }
    if (!mirror) {
      return;
    }
    // $HOME, and the account's home where a container sets HOME elsewhere (HOME=/github/home).
    List<Path> homes = new ArrayList<>(List.of(realHome));
    String account = System.getProperty("user.home");
    if (account != null && !account.isEmpty() && !account.equals("?")) {
      try {
        homes.add(StoreOverlap.real(Path.of(account)));
      } catch (IOException | java.nio.file.InvalidPathException e) {
        // no account home to protect
      }
    }
    for (Path h : homes) {
      if (h.startsWith(real)) {
        throw CachemountException.usage("target " + target + " is the home directory " + h + " or holds it, and mode=mirror would remove"
            + " everything there that the snapshot lacks; set target= to the cache directory");
      }
    }
  }

  /** What is stored under the spec's id, or empty when nothing is. */
  public Optional<SnapshotSummary> inspect(CacheSpec spec) {
    return inspect(spec, OperationListener.NONE);
  }

  /** {@link #inspect(CacheSpec)}, telling {@code listener} what the store said on the way (retries, TLS). */
  public Optional<SnapshotSummary> inspect(CacheSpec spec, OperationListener given) {
    return readStored(spec, given, "inspect", (l, s) -> summary(l.ref(), s, l.fallback()));
  }

  /**
   * What {@code view} makes of the snapshot a pull of the spec would restore (the id's own, else its
   * fallback's), read as far as its index; empty when nothing is stored. {@code what} names the
   * command in messages.
   */
  private <T> Optional<T> readStored(CacheSpec spec, OperationListener given, String what,
      java.util.function.BiFunction<LookedUp, LoadedSnapshot, T> view) {
    try (ClosableListener listener = new ClosableListener(given); SnapshotStore store = openStore(spec, listener);
        InterruptWatch watch = InterruptWatch.ofCurrentThread(store::abort)) {
      LookedUp l = null;
      try {
        l = lookUp(store, spec, listener);
        return l.manifest().isEmpty() ? Optional.empty() : Optional.of(view.apply(l, l.load(SnapshotReader.of(store))));
      } catch (CachemountException e) {
        CachemountException told = l == null || l.fallback() == null ? PullOperation.withRepairHint(e, spec.id(), store)
            : PullOperation.withRepairHint(e, spec.id(), l.reference(), l.fallback(), store);
        throw interrupted(told, watch, what + " of cache '" + spec.id() + "'");
      } catch (RuntimeException e) {
        throw interrupted(e, watch, what + " of cache '" + spec.id() + "'");
      }
    } catch (IOException e) {
      throw IoErrors.failed(what + " of cache '" + spec.id() + "'", e);
    }
  }


  /**
   * Removes the older keys of a keyed cache: the snapshots its {@code fallback=} prefixes match, but
   * for those {@code options} keep and the own tags of the specs in {@code together} (this command's,
   * {@code spec} among them) that lie in the same store. A local store then deletes the blobs no tag
   * needs (those written or used within its grace period excepted); a registry leaves them to its own
   * garbage collection.
   *
   * @throws CachemountException USAGE when the spec has no {@code fallback=}: nothing says which tags are its older keys
   */
  public PruneResult prune(CacheSpec spec, List<CacheSpec> together, PruneOptions options, OperationListener given) {
    if (spec.fallback().isEmpty()) {
      throw CachemountException.usage("cache id '" + spec.id() + "': prune removes the older keys that fallback= chooses among, and this"
          + " spec has no fallback=: add the start of its keys' tags, as in id=m2-HASH,fallback=m2-");
    }
    try (ClosableListener listener = new ClosableListener(given); SnapshotStore store = openStore(spec, listener);
        InterruptWatch watch = InterruptWatch.ofCurrentThread(store::abort)) {
      Set<String> inUse = SpecConflicts.keysInUse(spec, together, defaultStoreDir());
      String own = store.describe(spec.storeReference());
      try {
        return new PruneOperation(store, engine.clock(), listener).prune(spec, inUse, options);
      } catch (RuntimeException e) {
        throw interrupted(e, watch, "prune of cache '" + spec.id() + "' (" + own + ")");
      }
    } catch (IOException e) {
      throw IoErrors.failed("prune of cache '" + spec.id() + "'", e);
    }
  }

  /**
   * The entries of the snapshot a pull of the spec would restore (the id's own, else its fallback's),
   * at or below {@code paths} ({@link Listing#paths}; all of them when none is given): fetches the
   * manifest, config and index only. Empty when nothing is stored.
   */
  public Optional<Listing> list(CacheSpec spec, List<String> paths, OperationListener given) {
    return readStored(spec, given, "ls", (l, s) -> Listing.of(l.ref(), s.manifestBytes().digest().toString(), l.fallback(), s.index(), paths));
  }


  /**
   * Reads the snapshot stored under the spec's id as a cold pull would, writing nothing, and checks
   * every chunk against its digest ({@link SnapshotCheck}); empty when nothing is stored. A missing
   * or damaged blob fails it (INTEGRITY), naming every such pack and the files that need it, and
   * what to do; an unreachable store fails it as an operational failure.
   */
  public Optional<Verification> verify(CacheSpec spec, OperationListener given) {
    long started = System.nanoTime();
    try (ClosableListener listener = new ClosableListener(given); SnapshotStore store = openStore(spec, listener);
        InterruptWatch watch = InterruptWatch.ofCurrentThread(store::abort)) {
      Progress progress = new Progress(spec.id(), "verify", Progress.Step.FETCHING);
      listener.started(progress);
      try {
        return verify(spec, store, listener, watch, progress, started);
      } finally {
        listener.ended(progress);
      }
    } catch (IOException e) {
      throw IoErrors.failed("verify of cache '" + spec.id() + "'", e);
    }
  }

  /** The verify of {@link #verify(CacheSpec, OperationListener)} in its open store, counted in {@code progress}. */
  private Optional<Verification> verify(CacheSpec spec, SnapshotStore store, OperationListener listener, InterruptWatch watch, Progress progress,
      long started) throws IOException {
    String ref = store.describe(spec.storeReference());
    LoadedSnapshot s;
    SnapshotCheck.Report report;
    dev.cachemount.core.blob.Digest[] read = {null}; // the manifest read, once it is
    LookedUp l = new LookedUp(spec.storeReference(), ref, null, Optional.empty(), null);
    try {
      l = lookUp(store, spec, listener);
      ref = l.ref();
      if (l.manifest().isEmpty()) {
        return Optional.empty();
      }
      read[0] = l.manifest().get().digest();
      // The stored index, never the copy this machine keeps of one it pushed or pulled (a registry's
      // IndexCache): a cold pull elsewhere reads the stored one, and fails when that is damaged.
      s = l.load(new SnapshotReader(store, store, dev.cachemount.core.store.IndexCache.NONE));
      progress.transferred(s.bytesRead());
      SnapshotCheck check = new SnapshotCheck(store, s.index(), Math.max(engine.workers(), store.parallelReads()));
      progress.begin(Progress.Step.CHECKING, check.bytesToRead(), 0);
      report = check.reportingTo(n -> {
        progress.transferred(n);
        progress.bytes(n);
      }).check(ref);
    } catch (CachemountException e) {
      // A manifest, config or index that does not check: the snapshot is damaged there, unless a
      // push moved the tag meanwhile and the old one's blobs were collected (or a prune removed the tag and them).
      String changed = e.kind() == FailureKind.INTEGRITY && e instanceof dev.cachemount.core.store.BlobNotFoundException
          ? changedMeanwhile(store, l.reference(), read[0]) : null;
      CachemountException told = e.kind() != FailureKind.INTEGRITY ? e
          : changed != null ? changedMeanwhile(ref, changed)
          : damaged(PullOperation.naming(e.getMessage(), spec.id(), l.fallback()), spec, l, store, e);
      throw interrupted(told, watch, "verify of cache '" + spec.id() + "'");
    } catch (RuntimeException e) {
      throw interrupted(e, watch, "verify of cache '" + spec.id() + "'");
    }
    if (!report.damaged().isEmpty()) {
      // A push that moved the tag meanwhile may have had the old snapshot's packs collected, as a
      // pull finds (PullOperation): that is not damage.
      String changed = changedMeanwhile(store, l.reference(), s.manifestBytes().digest());
      if (changed != null) {
        throw changedMeanwhile(ref, changed);
      }
      throw damaged(damageMessage(ref, report), spec, l, store, null);
    }
    return Optional.of(new Verification(ref, s.manifestBytes().digest().toString(), s.index().fileCount(), s.index().totalBytes(),
        report.packs(), report.frames(), report.chunks(), s.bytesRead() + report.bytesRead(), Engine.millisSince(started), l.fallback()));
  }


  /** A verify's failure on damage: {@code message} and what to do, a push of the id whose snapshot it is (a fallback's, where one chose it). */
  private static CachemountException damaged(String message, CacheSpec spec, LookedUp l, SnapshotStore store, Throwable cause) {
    String id = l.fallback() == null ? spec.id() : l.reference();
    return new CachemountException(FailureKind.INTEGRITY, message + "." + PullOperation.repairAdvice(message, id, store), cause);
  }

  /**
   * The tag a lookup reads, as a pull would: the spec's own, or, when that holds nothing, the one its
   * {@code fallback=} prefixes choose.
   *
   * @param fallback the chosen snapshot's ref when a fallback chose it, else null
   * @param manifest the manifest read (the id's own, or the fallback's); empty when nothing is stored
   * @param head the fallback's manifest and config, as its choice read them; null for the id's own
   */
  private record LookedUp(String reference, String ref, String fallback, Optional<ManifestBytes> manifest, SnapshotHead head) {
    /** The snapshot, from what the look-up read: neither the manifest nor a fallback's config fetched again. */
    LoadedSnapshot load(SnapshotReader reader) throws IOException {
      return head != null ? reader.load(head, ref) : reader.load(manifest.orElseThrow(), ref);
    }
  }

  private static LookedUp lookUp(SnapshotStore store, CacheSpec spec, OperationListener listener) throws IOException {
    String own = spec.storeReference();
    Optional<ManifestBytes> mine = store.fetchManifest(own);
    if (mine.isPresent() || spec.fallback().isEmpty()) {
      return new LookedUp(own, store.describe(own), null, mine, null);
    }
    return FallbackTags.newest(store, spec, listener)
        .map(m -> new LookedUp(m.tag(), m.ref(), m.ref(), Optional.of(m.head().manifestBytes()), m.head()))
        .orElse(new LookedUp(own, store.describe(own), null, Optional.empty(), null));
  }

  /**
   * What became of the snapshot {@code read} that {@code reference} named: "replaced by a push" when
   * it names another manifest now, "removed (a prune deleted its tag)" when it names none; null when
   * it still names {@code read} (or nothing was read).
   */
  private static String changedMeanwhile(SnapshotStore store, String reference, dev.cachemount.core.blob.Digest read) throws IOException {
    if (read == null) {
      return null;
    }
    Optional<dev.cachemount.core.store.ManifestBytes> now = store.fetchManifest(reference);
    return now.isEmpty() ? "removed (a prune deleted its tag)" : now.get().digest().equals(read) ? null : "replaced by a push";
  }

  private static CachemountException changedMeanwhile(String ref, String what) {
    return new CachemountException(FailureKind.OPERATIONAL, "the snapshot " + ref + " was " + what + " while verify read it"
        + " (blobs of the one it read were gone); run verify again");
  }

  /** Which packs of the snapshot at {@code ref} are damaged, and which files need them. */
  private static String damageMessage(String ref, SnapshotCheck.Report report) {
    StringBuilder m = new StringBuilder("the snapshot " + ref + " is damaged: " + report.damaged().size() + " of "
        + ResultText.count(report.packs(), "pack", "packs") + " cannot be used");
    for (SnapshotCheck.DamagedPack d : report.damaged()) {
      m.append("; pack ").append(d.digest()).append(" (").append(ResultText.bytes(d.size())).append("): ").append(d.problem())
          .append(" (").append(ResultText.count(d.files(), "file needs", "files need")).append(" it");
      if (!d.examples().isEmpty()) {
        m.append(": ").append(String.join(", ", d.examples())).append(d.files() > d.examples().size() ? ", ..." : "");
      }
      m.append(")");
    }
    return m.toString();
  }

  /**
   * What an operation whose thread was interrupted throws: once the watch closed its store's
   * connections under a read the interrupt could not reach, what the read failed with ("Socket
   * closed", or a damaged body) is the interrupt's doing, and said so.
   */
  static RuntimeException interrupted(RuntimeException e, InterruptWatch watch, String what) {
    if (!watch.fired()) {
      return e;
    }
    if (e instanceof CachemountException c && (c.kind() == FailureKind.USAGE || c.kind() == FailureKind.AUTH)) {
      return e; // a usage or credentials failure is the operation's own, told as it is
    }
    // An integrity failure is relabelled too: a body cut off by the abort can read as one cut short,
    // and its advice (push --force) would be wrong for an interrupt.
    Thread.currentThread().interrupt(); // kept, whatever the failure's path did with it
    if (e instanceof SnapshotStoredException stored) {
      // Interrupted in its image view: the snapshot is stored all the same, and the result says which.
      return new SnapshotStoredException(new CachemountException(FailureKind.OPERATIONAL, what + " was interrupted after it stored "
          + stored.stored().digest() + " at " + stored.stored().ref() + "; the registry connections it was reading from were closed"), e, stored.stored());
    }
    return new CachemountException(FailureKind.OPERATIONAL, what + " was interrupted; the registry connections it was reading from were closed", e);
  }

  private static SnapshotSummary summary(String ref, LoadedSnapshot s, String fallback) {
    List<SnapshotSummary.Pack> packs = new ArrayList<>();
    for (SnapshotIndex.PackRef p : s.index().packs()) {
      packs.add(new SnapshotSummary.Pack(p.digest().toString(), p.size()));
    }
    return new SnapshotSummary(ref, s.manifestBytes().digest().toString(), s.config(), s.manifest().layers().get(0).size(), packs, fallback);
  }

  /** Settings of a client; the defaults suit the CLI. */
  public static final class Builder {
    private Map<String, String> env = System.getenv();
    /** Null: {@code HOME} from {@link #env}, as a shell expands {@code ~}, else the JVM's {@code user.home}. */
    private Path home;
    private Clock clock = Clock.systemUTC();
    private int workers = Runtime.getRuntime().availableProcessors();
    private ChunkerParameters chunker = ChunkerParameters.DEFAULT;
    private int frameTarget = DEFAULT_FRAME_TARGET;
    private long packTarget = DEFAULT_PACK_TARGET;
    private Duration layoutGrace = LayoutStore.DEFAULT_GRACE;
    private Duration targetLockTimeout = Duration.ofMinutes(10);
    private StoreFactory stores;
    private RegistrySettings registry = RegistrySettings.DEFAULT;

    private Builder() {}

    /** How registries are reached: CA file, insecure hosts, explicit credentials, parallelism, retries. */
    public Builder registry(RegistrySettings registry) {
      this.registry = java.util.Objects.requireNonNull(registry, "registry");
      return this;
    }

    /** Opens stores some other way than the default OCI layout directories (tests, other backends). */
    public Builder stores(StoreFactory stores) {
      this.stores = stores;
      return this;
    }

    /**
     * The environment to read XDG_CACHE_HOME, DOCKER_CONFIG and the registry credential variables from,
     * and to find and run the tools of {@code preset=} specs with (their PATH).
     */
    public Builder env(Map<String, String> env) {
      this.env = env;
      return this;
    }

    /**
     * The user's home as a shell sees it: {@code HOME} when set to an absolute path (CI containers
     * often set it to somewhere other than the account's passwd entry, which {@code user.home} reads).
     */
    static Path homeOf(Map<String, String> env) {
      String home = env.get("HOME");
      if (home != null && !home.isBlank() && home.startsWith("/")) {
        return Path.of(home);
      }
      return Path.of(System.getProperty("user.home"));
    }

    /**
     * Where {@code ~} in a spec, the default store and {@code ~/.docker} are; default {@link #homeOf}.
     * Given here, it is also the home under which {@code preset=maven} and {@code preset=gradle} look
     * for {@code .m2} and {@code .gradle}; by default those follow Java's {@code user.home}, as Maven
     * and Gradle do, where a container's {@code HOME} names another directory.
     */
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
      if (frameTarget < 1 || frameTarget > dev.cachemount.core.index.FormatLimits.MAX_FRAME / 4) { // frames grow to twice the target
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

    /**
     * How long a pull or push waits for another one of the same target (another process, or another
     * operation of this one), and a {@code mode=merge} push for another merge of its tag. Default 10 minutes.
     */
    public Builder targetLockTimeout(Duration timeout) {
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("a lock timeout cannot be negative");
      }
      this.targetLockTimeout = timeout;
      return this;
    }

    public Cachemount build() {
      Path home = this.home != null ? this.home : homeOf(env);
      return new Cachemount(env, home, new Engine(clock, workers, chunker, frameTarget, packTarget), layoutGrace, targetLockTimeout, registry, stores,
          // A home given here stands for the account's too; by default that is Java's user.home (Maven's ~/.m2).
          new PresetDirectories(env, home, this.home != null ? this.home : PresetDirectories.javaUserHome(home), Optional.empty()));
    }
  }
}
