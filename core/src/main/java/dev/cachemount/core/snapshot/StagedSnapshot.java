package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.PackWriter;
import java.time.Instant;
import java.util.List;

/**
 * A snapshot built from a tree, with its packs as files in a staging directory, not yet stored.
 *
 * @param scanStarted when the scan began: files modified at or after it may be torn
 * @param chunkBytes bytes of the distinct chunks, uncompressed
 */
public record StagedSnapshot(SnapshotIndex index, List<PackWriter.FinishedPack> packs, Instant scanStarted, long chunkBytes, long frames) {}
