package dev.cachemount.core.internal;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * Which file names this JVM reads and writes as the bytes a snapshot stores. Snapshots hold names
 * as UTF-8. A JVM whose locale is not UTF-8 (Maven's, running the plugin, on a CI image with no
 * LANG) converts names with its locale's charset ({@code sun.jnu.encoding}): under US-ASCII a byte
 * over 0x7F reads as U+FFFD, but under ISO-8859-1 every byte reads as some character, so the
 * UTF-8 name "café" reads as "cafÃ©", and "café" from a snapshot is written as one byte 0xE9. In
 * such a JVM only ASCII names mean the same bytes both ways; the others are left alone.
 */
public final class FileNameEncoding {
  private static final String ENCODING = System.getProperty("sun.jnu.encoding", "UTF-8");
  private static final boolean UTF8 = Charset.isSupported(ENCODING) && Charset.forName(ENCODING).equals(StandardCharsets.UTF_8);

  private FileNameEncoding() {}

  /** Whether this JVM reads and writes file names as UTF-8. */
  public static boolean utf8() {
    return UTF8;
  }

  /** The charset this JVM converts file names with, for messages. */
  public static String encoding() {
    return ENCODING;
  }

  /**
   * Whether {@code name}, as this JVM read it from the file system or as a snapshot holds it, stands
   * for the same bytes on disk and in a snapshot: it did not fail to decode (U+FFFD), and it is
   * ASCII unless the JVM's names are UTF-8.
   */
  public static boolean faithful(String name) {
    if (name.indexOf('\uFFFD') >= 0) {
      return false;
    }
    if (UTF8) {
      return true;
    }
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /** Why a name is not {@link #faithful}, for a message. */
  public static String problem() {
    return UTF8
        ? "the name is not valid UTF-8"
        : "this JVM reads file names as " + ENCODING + ", not UTF-8, so a name that is not ASCII cannot be read; run it with a UTF-8 locale"
            + " (LANG=C.UTF-8; ./cachemount sets one itself)";
  }
}
