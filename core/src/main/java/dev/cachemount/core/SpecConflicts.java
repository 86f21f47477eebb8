package dev.cachemount.core;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Specs of one command that would undo each other. Each runs on its own, one after another, so two
 * pushes to one snapshot keep only the second, and two pulls into one directory (or one inside the
 * other) write over each other's files; such a command is refused before anything runs.
 */
final class SpecConflicts {
  private SpecConflicts() {}

  /**
   * @throws CachemountException USAGE when two specs name the same snapshot: the same tag in the
   *     same local store or the same registry repository
   */
  static void requireDistinctSnapshots(List<CacheSpec> specs, Path defaultStoreDir) {
    Map<String, CacheSpec> seen = new HashMap<>();
    for (CacheSpec spec : specs) {
      String snapshot = snapshotKey(spec, defaultStoreDir);
      CacheSpec earlier = seen.putIfAbsent(snapshot, spec);
      if (earlier != null) {
        if (earlier.id().equals(spec.id()) && earlier.target().equals(spec.target())) {
          throw twice(spec);
        }
        if (earlier.id().equals(spec.id())) {
          throw CachemountException.usage("cache id '" + spec.id() + "' is given twice, with the targets " + earlier.target().map(Object::toString).orElse("(none)")
              + " and " + spec.target().map(Object::toString).orElse("(none)") + ", which both push to " + describe(spec, defaultStoreDir)
              + ": the second would replace the first; give each target its own id");
        }
        throw CachemountException.usage("cache ids '" + earlier.id() + "' and '" + spec.id() + "' both push to " + describe(spec, defaultStoreDir)
            + ": the second would replace the first; give each --cache-id its own id (or ref tag), or push them in separate commands");
      }
    }
    // An image view's tag (image=) is written too: by one spec only, and never another's snapshot tag.
    Map<String, CacheSpec> views = new HashMap<>();
    for (CacheSpec spec : specs) {
      if (spec.image().isEmpty()) {
        continue;
      }
      String image = spec.image().get();
      String key = tagKey(spec, image, defaultStoreDir);
      CacheSpec snapshotOwner = seen.get(key);
      if (snapshotOwner != null) {
        throw CachemountException.usage("cache id '" + spec.id() + "': image=" + image + " is where cache id '" + snapshotOwner.id()
            + "' pushes its snapshot (" + describe(snapshotOwner, defaultStoreDir) + "): the image view would fail on that snapshot, or that push on"
            + " the view; give image= a tag of its own, as in image=" + spec.id() + "-image");
      }
      CacheSpec earlier = views.putIfAbsent(key, spec);
      if (earlier != null) {
        throw CachemountException.usage("cache ids '" + earlier.id() + "' and '" + spec.id() + "' both write their image view to image=" + image
            + " in " + storeOf(spec, defaultStoreDir) + ": the second would replace the first; give each its own image= tag");
      }
    }
  }

  /**
   * The keys a prune of {@code spec} leaves alone: of the specs of {@code together} ({@code spec}
   * among them) whose snapshots lie in its store (the same layout directory, or the same registry
   * repository), the own tags, and the snapshots their {@code from=} names there (a push builds on
   * them): tags, or digests where a {@code from=} pins one.
   */
  static Set<String> keysInUse(CacheSpec spec, List<CacheSpec> together, Path defaultStoreDir) {
    String store = storeKey(spec, defaultStoreDir);
    Set<String> keys = new HashSet<>();
    List<CacheSpec> all = new ArrayList<>(together);
    all.add(spec);
    for (CacheSpec other : all) {
      if (!storeKey(other, defaultStoreDir).equals(store)) {
        continue;
      }
      keys.add(other.storeReference());
      if (other.ref().isEmpty()) {
        keys.addAll(other.from()); // ids of the same layout directory
      } else {
        other.fromRefs().stream().filter(f -> registryKey(f).equals(store)).forEach(f -> keys.add(f.reference()));
      }
    }
    return keys;
  }

  /** The store a spec's snapshot lies in: a layout directory (its real path), or a registry's repository (the host's case aside). */
  private static String storeKey(CacheSpec spec, Path defaultStoreDir) {
    return spec.ref().map(SpecConflicts::registryKey).orElseGet(() -> "local\0" + real(spec.storeDir().orElse(defaultStoreDir)));
  }

  private static String registryKey(dev.cachemount.core.registry.RegistryRef ref) {
    return "registry\0" + ref.registry().toLowerCase(Locale.ROOT) + "\0" + ref.repository();
  }

  /** A tag of the spec's store: its snapshot's key ({@link #snapshotKey}) when it is the spec's own tag. */
  private static String tagKey(CacheSpec spec, String tag, Path defaultStoreDir) {
    return storeKey(spec, defaultStoreDir) + "\0" + tag;
  }

  private static String storeOf(CacheSpec spec, Path defaultStoreDir) {
    return spec.ref().map(r -> r.registry() + "/" + r.repository()).orElseGet(() -> "the store " + spec.storeDir().orElse(defaultStoreDir));
  }

  /** The same cache given twice (a spec in the pom and again in -Dcachemount.cacheId, or --cache-id repeated). */
  private static CachemountException twice(CacheSpec spec) {
    return CachemountException.usage("cache id '" + spec.id() + "' is given twice, for the same snapshot and target; give it once");
  }

  /**
   * @throws CachemountException USAGE when two specs have the same target, or one's target lies
   *     inside another's
   */
  static void requireSeparateTargets(List<CacheSpec> specs) {
    List<Path> targets = new ArrayList<>();
    List<CacheSpec> owners = new ArrayList<>();
    for (CacheSpec spec : specs) {
      if (spec.target().isEmpty()) {
        continue; // the operation itself says that it needs one
      }
      Path target = real(spec.target().get());
      for (int i = 0; i < targets.size(); i++) {
        Path other = targets.get(i);
        String ids = "cache ids '" + owners.get(i).id() + "' and '" + spec.id() + "'";
        if (other.equals(target) && owners.get(i).id().equals(spec.id())) {
          throw twice(spec);
        }
        if (other.equals(target)) {
          throw CachemountException.usage(ids + " both pull into " + target
              + ": the second would write over the first; give each its own target=, or pull them in separate commands");
        }
        if (target.startsWith(other) || other.startsWith(target)) {
          Path outer = target.startsWith(other) ? other : target;
          Path inner = outer == other ? target : other;
          throw CachemountException.usage(ids + " pull into " + inner + ", which lies inside " + outer
              + ": one would write into the other's files; give them targets that do not contain each other");
        }
      }
      targets.add(target);
      owners.add(spec);
    }
  }

  private static String snapshotKey(CacheSpec spec, Path defaultStoreDir) {
    return tagKey(spec, spec.storeReference(), defaultStoreDir);
  }

  private static String describe(CacheSpec spec, Path defaultStoreDir) {
    return spec.ref().map(r -> r.toString()).orElseGet(() -> "'" + spec.storeReference() + "' in the store " + spec.storeDir().orElse(defaultStoreDir));
  }

  private static Path real(Path path) {
    try {
      return StoreOverlap.real(path);
    } catch (IOException e) {
      return path.toAbsolutePath().normalize(); // an unreadable part: the operation reports it
    }
  }
}
