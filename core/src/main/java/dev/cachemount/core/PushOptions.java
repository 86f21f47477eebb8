package dev.cachemount.core;

/**
 * How a push treats the snapshot it replaces.
 *
 * @param force store a complete new snapshot even when the tree equals the stored one: the way to
 *     repair a store whose blobs were damaged
 */
public record PushOptions(boolean force) {
  public static final PushOptions DEFAULT = new PushOptions(false);
}
