package dev.cachemount.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A spec's {@code preset=NAME}: a build tool whose cache directory the spec's target is, as the tool
 * itself names it ({@code go env GOCACHE}, Maven's settings). What the name stands for is fixed here;
 * where the directory is found out is {@link PresetDirectories}' job.
 */
public enum CachePreset {
  MAVEN("maven", "the local repository: <localRepository> of ~/.m2/settings.xml, else of the global settings"
      + " (those of the mvn on PATH, else $MAVEN_HOME/conf/settings.xml or $M2_HOME's), else ~/.m2/repository,"
      + " ~ being Java's user.home; -Dmaven.repo.local in MAVEN_OPTS first; in the Maven plugin, the running build's"),
  GRADLE("gradle", "$GRADLE_USER_HOME/caches, else ~/.gradle/caches, ~ being Java's user.home"),
  GO_BUILD("go-build", "what `go env GOCACHE` prints"),
  GO_MOD("go-mod", "what `go env GOMODCACHE` prints"),
  NPM("npm", "what `npm config get cache` prints, plus /_cacache"),
  PIP("pip", "what `pip cache dir` prints (else `pip3 cache dir`)"),
  CARGO("cargo", "$CARGO_HOME/registry, else ~/.cargo/registry");

  private final String presetName;
  private final String description;

  CachePreset(String presetName, String description) {
    this.presetName = presetName;
    this.description = description;
  }

  /** What a spec calls it ({@code preset=go-build}), and the id of a spec that gives none. */
  public String presetName() {
    return presetName;
  }

  /** Where its directory comes from, in one line. */
  public String description() {
    return description;
  }

  /** The preset a spec's {@code preset=} value names, whatever its case. */
  public static Optional<CachePreset> named(String name) {
    String wanted = name.trim().toLowerCase(Locale.ROOT);
    return Arrays.stream(values()).filter(p -> p.presetName.equals(wanted)).findFirst();
  }

  /** The names of every preset, comma-separated, for messages and help. */
  public static String names() {
    return Arrays.stream(values()).map(CachePreset::presetName).collect(Collectors.joining(", "));
  }
}
