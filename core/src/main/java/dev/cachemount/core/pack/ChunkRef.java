package dev.cachemount.core.pack;

import dev.cachemount.core.blob.Digest;

/** A chunk inside a frame: its digest and length (its offset is the sum of the lengths before it). */
public record ChunkRef(Digest digest, int length) {}
