package dev.cachemount.core.snapshot;

import java.util.Objects;
import java.util.Optional;

/**
 * A stored snapshot whose chunks a push may reference instead of storing them again: the previous
 * snapshot of the same tag (the parent), or another cache named with {@code from=}.
 *
 * @param snapshot the loaded snapshot (manifest, config and index; no pack is read)
 * @param repository where its packs live when that is another repository of the same registry, so
 *     that the registry can mount them; empty when they are in the store pushed to
 * @param name how to name it in messages
 * @param packsPresent the push already saw every pack of it in the store pushed to (the parent's are
 *     checked when it is loaded), so reusing one needs no further request
 */
public record ReuseSource(LoadedSnapshot snapshot, Optional<String> repository, String name, boolean packsPresent) {
  public ReuseSource {
    Objects.requireNonNull(snapshot, "snapshot");
    Objects.requireNonNull(repository, "repository");
    Objects.requireNonNull(name, "name");
  }
}
