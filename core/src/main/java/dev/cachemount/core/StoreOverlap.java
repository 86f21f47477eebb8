package dev.cachemount.core;

import dev.cachemount.core.store.LayoutStore;
import dev.cachemount.core.store.SnapshotStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a local store lies relative to a push's or pull's target. A snapshot must not contain its
 * own store, a pull must not write into it, and neither may use the store itself as the target.
 */
final class StoreOverlap {
  private StoreOverlap() {}

  /**
   * The store's directory, as a real path, when it lies inside {@code root} (a real path); empty
   * when it lies elsewhere or the store is not a directory on this machine.
   *
   * @throws CachemountException USAGE when the target is the store or lies inside it
   */
  static Optional<Path> storeInside(Path root, SnapshotStore store) throws IOException {
    if (!(store instanceof LayoutStore layout)) {
      return Optional.empty();
    }
    Path dir = layout.root();
    Path real = real(dir);
    if (root.startsWith(real)) {
      throw CachemountException.usage("the target " + root + " is the store " + dir + " or lies inside it; set target= to the cache directory"
          + " and dir= to a directory outside it");
    }
    return real.startsWith(root) ? Optional.of(real) : Optional.empty();
  }

  /**
   * cachemount's own directory ({@code $XDG_CACHE_HOME/cachemount}: the default store, index cache,
   * locks, staging files), as a real path, when it lies inside {@code root} (a real path): a push
   * leaves it out of the snapshot and a pull leaves it alone, as with a store, so that a cache of
   * all of {@code ~/.cache} neither snapshots cachemount's working files nor removes them.
   */
  static Optional<Path> stateInside(Path root, Path stateDirectory) throws IOException {
    Path real = real(stateDirectory);
    return real.startsWith(root) && !real.equals(root) ? Optional.of(real) : Optional.empty();
  }

  /** {@code path} with the links of its longest existing part resolved: its real path, if it existed. */
  static Path real(Path path) throws IOException {
    return dev.cachemount.core.internal.FileTrees.realPath(path);
  }
}
