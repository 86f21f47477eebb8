package dev.cachemount.core.oci;

/** The media types of the OCI specifications and of the cachemount snapshot format v1. */
public final class MediaTypes {
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

  /** The manifest's {@code artifactType}. */
  public static final String SNAPSHOT_ARTIFACT = "application/vnd.cachemount.snapshot.v1";
  /** The config blob. */
  public static final String SNAPSHOT_CONFIG = "application/vnd.cachemount.snapshot.config.v1+json";
  /** The first layer: the index. */
  public static final String SNAPSHOT_INDEX = "application/vnd.cachemount.index.v1+zstd";
  /** Every further layer: a pack. */
  public static final String SNAPSHOT_PACK = "application/vnd.cachemount.pack.v1";

  /** The annotation that names a tag in an OCI layout's index.json. */
  public static final String REF_NAME = "org.opencontainers.image.ref.name";
  /** The creation time annotation of the manifest. */
  public static final String CREATED = "org.opencontainers.image.created";

  private MediaTypes() {}
}
