package dev.cachemount.core;

/**
 * What {@code verify} found of a stored snapshot that a pull could restore whole: every blob there,
 * every frame decoded, every chunk matching its SHA-256 (a damaged one fails the verification
 * instead, naming the packs and the files that need them).
 *
 * @param ref where it lives
 * @param digest its manifest digest
 * @param files files of the tree
 * @param bytes logical bytes of the tree
 * @param packs pack blobs read
 * @param frames frames decoded
 * @param chunks chunks checked against their digests
 * @param bytesRead blob bytes read from the store, the manifest, config and index included
 * @param durationMs wall time
 * @param fallback when the id's own tag holds no snapshot and a {@code fallback=} prefix chose this
 *     one (the one a pull would restore): its ref, as {@code ref}; else null
 */
@com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
public record Verification(String ref, String digest, long files, long bytes, int packs, long frames, long chunks, long bytesRead,
    long durationMs, String fallback) {
  /** One line, as the CLI prints it. */
  public String describe(String id) {
    return id + ": verified " + digest + " at " + ref + (fallback == null ? "" : " (its fallback)") + " (" + ResultText.count(files, "file", "files") + ", " + ResultText.bytes(bytes)
        + "; " + ResultText.count(packs, "pack", "packs") + ", " + ResultText.count(chunks, "chunk", "chunks")
        + " checked against their digests; read " + ResultText.bytes(bytesRead) + " in " + ResultText.seconds(durationMs) + ")";
  }
}
