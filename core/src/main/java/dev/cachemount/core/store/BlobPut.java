package dev.cachemount.core.store;

/**
 * What storing one blob did.
 *
 * @param bytesWritten bytes sent to the store: the blob's size when {@link How#WRITTEN}, else 0
 * @param how whether the blob was written, already there, or mounted from another repository of the same registry
 */
public record BlobPut(long bytesWritten, How how) {
  public enum How { WRITTEN, PRESENT, MOUNTED }

  public static final BlobPut PRESENT = new BlobPut(0, How.PRESENT);
  public static final BlobPut MOUNTED = new BlobPut(0, How.MOUNTED);

  public static BlobPut written(long size) {
    return new BlobPut(size, How.WRITTEN);
  }
}
