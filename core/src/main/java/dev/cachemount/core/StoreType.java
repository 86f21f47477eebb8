package dev.cachemount.core;

/** Where a cache is kept. */
public enum StoreType {
  /** An OCI image-layout directory on this machine: the embedded default, no server needed. */
  LOCAL("local"),
  /** A repository of an OCI registry (distribution, Docker Hub, GHCR, ECR, Harbor, ...). */
  REGISTRY("registry");

  private final String key;

  StoreType(String key) {
    this.key = key;
  }

  /** The value of the spec's {@code type=} key. */
  public String key() {
    return key;
  }
}
