package dev.cachemount.core.image;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * How the image view's layers are compressed ({@code image-compression=}). zstd is smaller and faster
 * to write and read, and needs BuildKit 0.10 or newer (Docker Engine 23 or newer); gzip is what every
 * image tool reads, the Docker Engine 20.10 of Debian 12 and its BuildKit among them.
 */
public enum LayerCompression {
  ZSTD("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
  GZIP("gzip", "application/vnd.oci.image.layer.v1.tar+gzip");

  /** gzip's levels end at 9: a higher {@code compression-level} (zstd's go to 19) is taken as 9. */
  static final int MAX_GZIP_LEVEL = Deflater.BEST_COMPRESSION;

  private final String value;
  private final String mediaType;

  LayerCompression(String value, String mediaType) {
    this.value = value;
    this.mediaType = mediaType;
  }

  /** The name {@code image-compression=} takes, and the view's index records. */
  public String value() {
    return value;
  }

  /** The media type of a layer compressed so. */
  public String mediaType() {
    return mediaType;
  }

  /** What identifies a layer written so: the first field of every group's key ({@link LayerGroups}). */
  String format() {
    return "cachemount-image-layer-v1 tar+" + value + " 0:0 0644/0755";
  }

  /** A stream that compresses what it is given into {@code out} at {@code level} (the spec's {@code compression-level}). */
  OutputStream compressing(OutputStream out, int level) throws IOException {
    return switch (this) {
      case ZSTD -> new ZstdOutputStream(out, level);
      case GZIP -> new GZIPOutputStream(out, 1 << 16) {
        {
          def.setLevel(Math.min(level, MAX_GZIP_LEVEL));
        }
      };
    };
  }

  /** The compression named {@code value} ({@code zstd}, {@code gzip}; any case), if it is one. */
  public static Optional<LayerCompression> named(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    return Arrays.stream(values()).filter(c -> c.value.equals(v)).findFirst();
  }

  /** The names {@link #named} takes, for a message. */
  public static String names() {
    return String.join(" or ", Arrays.stream(values()).map(LayerCompression::value).toList());
  }
}
