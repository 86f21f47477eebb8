package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.SnapshotIndex;
import dev.cachemount.core.pack.PackWriter;
import java.time.Instant;
import java.util.List;

/**
 * A snapshot built from a tree, with its packs as files in a staging directory, not yet stored.
 *
 * @param scanStarted when the scan began: files modified at or after it may be torn
 * @param packs the new packs, in the index's order, before the reused ones
 * @param reused packs of earlier snapshots the index references, in the index's order after the new ones
 * @param chunkBytes bytes of the chunks packed anew, uncompressed
 * @param storedVersions files of the directory whose stored version a {@code mode=merge} push kept, as it
 *     could not read them whole (a tool kept writing them): the snapshot holds not the directory's bytes
 */
public record StagedSnapshot(
    SnapshotIndex index, List<PackWriter.FinishedPack> packs, List<ReusedPack> reused, Instant scanStarted, long chunkBytes, long frames,
    java.util.Set<String> storedVersions) {}
