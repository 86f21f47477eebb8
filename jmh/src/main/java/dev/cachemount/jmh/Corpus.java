package dev.cachemount.jmh;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The inputs of the benchmarks: 64 MiB, generated from a fixed seed, so every run and every fork
 * sees the same bytes.
 *
 * <ul>
 *   <li>{@code random}: uniformly random bytes, what already-compressed content (jar entries, images)
 *       looks like to the chunker and to zstd;
 *   <li>{@code text}: Maven-repository-like text (pom XML, .sha1 files, manifests and properties,
 *       Java-like source) from a skewed vocabulary of generated words; zstd level 3 shrinks it a few
 *       times (BenchMain prints the ratio).
 * </ul>
 */
public final class Corpus {
  /** Every benchmark's input, and the bytes of one invocation. */
  public static final int SIZE = 64 << 20;
  /** The unit of one JMH "op": 1 MiB of input, so that ops/s are MiB/s. */
  public static final int BYTES_PER_OP = 1 << 20;
  /** {@code @OperationsPerInvocation} of a benchmark that processes the whole corpus once. */
  public static final int OPS = SIZE / BYTES_PER_OP;

  public static final String RANDOM = "random";
  public static final String TEXT = "text";

  private static final long SEED = 0x6a6d682d63636d74L;

  private Corpus() {}

  public static byte[] of(String name) {
    return switch (name) {
      case RANDOM -> random(SEED, SIZE);
      case TEXT -> text(SEED, SIZE);
      default -> throw new IllegalArgumentException("unknown corpus '" + name + "' (random or text)");
    };
  }

  static byte[] random(long seed, int size) {
    byte[] data = new byte[size];
    SplittableRandom r = new SplittableRandom(seed);
    int i = 0;
    for (; i + 8 <= size; i += 8) {
      long v = r.nextLong();
      for (int b = 0; b < 8; b++) {
        data[i + b] = (byte) (v >>> (8 * b));
      }
    }
    for (; i < size; i++) {
      data[i] = (byte) r.nextInt(256);
    }
    return data;
  }

  static byte[] text(long seed, int size) {
    SplittableRandom r = new SplittableRandom(seed);
    String[] words = vocabulary(r, 4096);
    Filler out = new Filler(size);
    while (!out.full()) {
      switch (r.nextInt(8)) {
        case 0, 1, 2 -> pom(r, words, out);
        case 3 -> sha1(r, out);
        case 4 -> manifest(r, words, out);
        default -> source(r, words, out);
      }
    }
    return out.data;
  }

  private static String[] vocabulary(SplittableRandom r, int n) {
    String[] syllables = {"ka", "lo", "mi", "ser", "vi", "ce", "con", "fig", "util", "core", "api", "spi", "impl", "test",
        "plug", "in", "ma", "ven", "ja", "va", "xml", "json", "http", "net", "io", "log", "back", "slf", "guava", "com",
        "mons", "lang", "apache", "google", "spring", "boot", "data", "cache", "stream", "re", "act", "or", "an", "no"};
    String[] words = new String[n];
    for (int i = 0; i < n; i++) {
      StringBuilder w = new StringBuilder();
      int k = 1 + r.nextInt(3);
      for (int j = 0; j < k; j++) {
        w.append(syllables[r.nextInt(syllables.length)]);
      }
      words[i] = w.toString();
    }
    return words;
  }

  /** A word, the frequent ones far more often (about a cube law). */
  private static String word(SplittableRandom r, String[] words) {
    double u = r.nextDouble();
    return words[(int) (words.length * u * u * u)];
  }

  private static String version(SplittableRandom r) {
    return r.nextInt(6) + "." + r.nextInt(20) + "." + r.nextInt(12) + (r.nextInt(4) == 0 ? "-SNAPSHOT" : "");
  }

  private static void pom(SplittableRandom r, String[] words, Filler out) {
    String group = "org." + word(r, words) + "." + word(r, words);
    StringBuilder s = new StringBuilder(2048);
    s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .append("<project xmlns=\"http://maven.apache.org/POM/4.0.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n")
        .append("  <modelVersion>4.0.0</modelVersion>\n")
        .append("  <groupId>").append(group).append("</groupId>\n")
        .append("  <artifactId>").append(word(r, words)).append('-').append(word(r, words)).append("</artifactId>\n")
        .append("  <version>").append(version(r)).append("</version>\n")
        .append("  <description>").append(word(r, words)).append(' ').append(word(r, words)).append(' ')
        .append(word(r, words)).append(" for ").append(word(r, words)).append("</description>\n")
        .append("  <dependencies>\n");
    int deps = 1 + r.nextInt(8);
    for (int d = 0; d < deps; d++) {
      s.append("    <dependency>\n")
          .append("      <groupId>org.").append(word(r, words)).append("</groupId>\n")
          .append("      <artifactId>").append(word(r, words)).append("</artifactId>\n")
          .append("      <version>").append(version(r)).append("</version>\n");
      if (r.nextInt(3) == 0) {
        s.append("      <scope>test</scope>\n");
      }
      s.append("    </dependency>\n");
    }
    s.append("  </dependencies>\n</project>\n");
    out.append(s);
  }

  private static void sha1(SplittableRandom r, Filler out) {
    StringBuilder s = new StringBuilder(48);
    for (int i = 0; i < 40; i++) {
      s.append(Character.forDigit(r.nextInt(16), 16));
    }
    out.append(s.append('\n'));
  }

  private static void manifest(SplittableRandom r, String[] words, Filler out) {
    StringBuilder s = new StringBuilder(512);
    s.append("Manifest-Version: 1.0\n")
        .append("Created-By: Maven JAR Plugin 3.").append(r.nextInt(5)).append('.').append(r.nextInt(3)).append('\n')
        .append("Build-Jdk-Spec: ").append(r.nextBoolean() ? "17" : "11").append('\n')
        .append("Implementation-Title: ").append(word(r, words)).append('\n')
        .append("Implementation-Version: ").append(version(r)).append('\n')
        .append("Automatic-Module-Name: org.").append(word(r, words)).append('.').append(word(r, words)).append("\n\n")
        .append("#Generated by Maven\n")
        .append("groupId=org.").append(word(r, words)).append('\n')
        .append("artifactId=").append(word(r, words)).append('\n')
        .append("version=").append(version(r)).append('\n');
    out.append(s);
  }

  private static void source(SplittableRandom r, String[] words, Filler out) {
    StringBuilder s = new StringBuilder(2048);
    s.append("package org.").append(word(r, words)).append('.').append(word(r, words)).append(";\n\n")
        .append("import java.util.List;\nimport java.util.Map;\n\n")
        .append("/** The ").append(word(r, words)).append(" of a ").append(word(r, words)).append(". */\n")
        .append("public final class ").append(capitalized(word(r, words))).append(" {\n");
    int methods = 1 + r.nextInt(6);
    for (int m = 0; m < methods; m++) {
      String arg = word(r, words);
      s.append("  public int ").append(word(r, words)).append("(String ").append(arg).append(") {\n")
          .append("    if (").append(arg).append(" == null) {\n")
          .append("      throw new IllegalArgumentException(\"").append(word(r, words)).append(" is missing\");\n")
          .append("    }\n")
          .append("    return ").append(word(r, words)).append('.').append(word(r, words)).append('(').append(arg)
          .append(") + ").append(r.nextInt(1000)).append(";\n")
          .append("  }\n\n");
    }
    s.append("}\n");
    out.append(s);
  }

  private static String capitalized(String w) {
    return Character.toUpperCase(w.charAt(0)) + w.substring(1);
  }

  /** Appends ASCII text to a fixed-size array, cutting the last piece at the end. */
  private static final class Filler {
    final byte[] data;
    int length;

    Filler(int size) {
      data = new byte[size];
    }

    boolean full() {
      return length == data.length;
    }

    void append(CharSequence s) {
      byte[] b = s.toString().getBytes(StandardCharsets.US_ASCII);
      int n = Math.min(b.length, data.length - length);
      System.arraycopy(b, 0, data, length, n);
      length += n;
    }
  }
}
