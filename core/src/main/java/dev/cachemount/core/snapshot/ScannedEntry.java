package dev.cachemount.core.snapshot;

import dev.cachemount.core.index.EntryType;

/**
 * What a scan saw of one entry, before its content is read.
 *
 * @param path relative path with {@code /} separators
 * @param mode permission bits, {@code 0..0777}
 * @param linkTarget the target of a symlink, else {@code null}
 */
public record ScannedEntry(String path, EntryType type, int mode, long size, long mtimeSeconds, int mtimeNanos, String linkTarget) {}
