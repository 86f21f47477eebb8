package dev.cachemount.core.snapshot;

import dev.cachemount.core.blob.Digest;
import java.util.Optional;

/**
 * A pack of an earlier snapshot that a new snapshot references instead of repacking its chunks.
 *
 * @param repository where to mount it from when it is in another repository; empty when the store holds it
 * @param liveBytes stored bytes of its frames that the new snapshot uses
 * @param knownPresent the store is already known to hold it: nothing to check or mount
 */
public record ReusedPack(Digest digest, long size, Optional<String> repository, long liveBytes, boolean knownPresent) {}
