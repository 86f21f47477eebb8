package dev.cachemount.core;

import dev.cachemount.core.registry.RegistryRef;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One {@code --cache-id} spec: which cache, where it is stored, which directory it mirrors. Validated
 * once, as it is made (by {@link #parse}, which names the spec's text in its messages, or in code
 * through {@link #local}, {@link #registry} and the {@code with...} methods); afterwards trusted.
 *
 * <p>The syntax is that of buildx's {@code --cache-to}: comma-separated {@code key=value} fields, read
 * as one CSV record, so a field that holds a comma is quoted as a whole: {@code
 * id=m2,"target=/path/with,comma"}. Keys are case-insensitive. A {@code preset=} is not kept: parsing
 * turns it into the id and the target it stands for ({@link CachePreset}).
 *
 * @param id the cache's name, also its tag in the store
 * @param type the kind of store
 * @param storeDir for {@code type=local}: the OCI layout directory; empty for the default
 * @param target the directory to push from or pull into; empty when not given
 * @param compressionLevel zstd level for new chunks
 * @param ref for {@code type=registry}: the repository and tag (defaulted to the id) or digest
 * @param insecure for {@code type=registry}: plain HTTP or unverified TLS allowed for this registry
 * @param from other snapshots a push may take chunks from: cache ids in the same local store, or refs
 *     in the same registry (whose blobs it then mounts); a ref without a tag gets this spec's id
 * @param mode {@code mirror} or {@code merge}; empty for each operation's default (push: mirror;
 *     pull: keep local files the snapshot lacks)
 * @param maxSize for push: the most bytes of files the snapshot keeps, the most recently used first
 * @param verifyContent for pull: a file already in the target is left alone only when its chunks
 *     match, not merely its size and modification time ({@code verify=content})
 * @param fallback tag prefixes, in order of preference, tried when the store holds no snapshot under
 *     this spec's own tag ({@code fallback=}, repeatable, as actions/cache's {@code restore-keys}): a
 *     pull restores the newest snapshot whose tag starts with the first prefix that matches any; a
 *     push to a tag that holds nothing yet builds on that snapshot (files it holds unchanged are not
 *     read, its packs are reused). In the same store: the local store, or the ref's repository.
 * @param image for push: the tag, in the same store, of the snapshot's image view ({@code image=}): an
 *     ordinary container image of the directory that a builder can seed a cache mount from
 *     ({@link dev.cachemount.core.image.ImageView})
 * @param imageCompression how the image view's layers are compressed ({@code image-compression=}): zstd
 *     (the default) or gzip, for image tools that predate zstd layers
 */
public record CacheSpec(
    String id, StoreType type, Optional<Path> storeDir, Optional<Path> target, int compressionLevel,
    Optional<RegistryRef> ref, boolean insecure, List<String> from, Optional<Mode> mode, java.util.OptionalLong maxSize, boolean verifyContent,
    List<String> fallback, Optional<String> image, dev.cachemount.core.image.LayerCompression imageCompression) {

  /** How a snapshot and a directory relate. */
  public enum Mode {
    /** The snapshot is exactly the directory; a pull also removes local files the snapshot lacks. */
    MIRROR,
    /** A push stores the union of the directory and the stored snapshot, the newer file winning. */
    MERGE
  }
  public static final int DEFAULT_COMPRESSION_LEVEL = 3;
  public static final int MIN_COMPRESSION_LEVEL = 1;
  public static final int MAX_COMPRESSION_LEVEL = 19;
  /** The keys this version understands, in the order the reference lists them. */
  public static final List<String> KEYS = List.of("id", "type", "ref", "dir", "target", "compression-level", "insecure", "from", "mode", "max-size", "verify", "fallback", "preset", "image", "image-compression");

  /** An OCI tag: what an id must be, since it becomes one. */
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

  public CacheSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(storeDir, "storeDir");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(ref, "ref");
    from = from.stream().map(f -> Objects.requireNonNull(f, "from").trim()).toList();
    fallback = fallback.stream().map(f -> Objects.requireNonNull(f, "fallback").trim()).toList();
    Objects.requireNonNull(mode, "mode");
    Objects.requireNonNull(maxSize, "maxSize");
    image = Objects.requireNonNull(image, "image").map(String::trim);
    Objects.requireNonNull(imageCompression, "imageCompression");
    if (maxSize.isPresent() && maxSize.getAsLong() < 1) {
      throw CachemountException.usage("max-size must be positive");
    }
    if ((type == StoreType.REGISTRY) != ref.isPresent()) {
      throw CachemountException.usage("cache id '" + id + "': a registry spec needs a ref, and only a registry spec has one");
    }
    if (!TAG.matcher(id).matches()) {
      throw CachemountException.usage("cache id '" + id + "' is not valid: use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    }
    // Made in code too (a library's caller), not only by parse, whose messages name the spec's text.
    for (String f : from) {
      if (f.isEmpty()) {
        throw CachemountException.usage("cache id '" + id + "': from= is empty: name another cache");
      }
      if (ref.isPresent() && !RegistryRef.parse(f).registry().equals(ref.get().registry())) {
        throw CachemountException.usage("cache id '" + id + "': from=" + f + " is in registry " + RegistryRef.parse(f).registry() + ", not "
            + ref.get().registry() + "; a push reuses blobs within one registry only");
      }
      if (ref.isEmpty() && !TAG.matcher(f).matches()) {
        throw CachemountException.usage("cache id '" + id + "': from=" + f + " is not a cache id of the same store");
      }
    }
    for (String f : fallback) {
      fallbackProblem(f).ifPresent(problem -> {
        throw CachemountException.usage("cache id '" + id + "': " + problem);
      });
    }
    if (!fallback.isEmpty() && ref.isPresent() && ref.get().digest().isPresent()) {
      // A pinned digest asks for exactly that snapshot: another in its place would be a wrong answer, not a fallback.
      throw CachemountException.usage("cache id '" + id + "': ref " + ref.get() + " pins a digest, and fallback= does not go with it:"
          + " a pinned snapshot that is gone is a miss; give a tag to fall back from");
    }
    if (image.isPresent()) {
      imageProblem(image.get(), ref.isPresent() ? ref.get().reference() : id).ifPresent(problem -> {
        throw CachemountException.usage("cache id '" + id + "': " + problem);
      });
    }
    if (compressionLevel < MIN_COMPRESSION_LEVEL || compressionLevel > MAX_COMPRESSION_LEVEL) {
      throw CachemountException.usage("compression-level " + compressionLevel + " is out of range: use " + MIN_COMPRESSION_LEVEL + " to " + MAX_COMPRESSION_LEVEL);
    }
  }

  public CacheSpec(String id, StoreType type, Optional<Path> storeDir, Optional<Path> target, int compressionLevel,
      Optional<RegistryRef> ref, boolean insecure, List<String> from, Optional<Mode> mode, java.util.OptionalLong maxSize, boolean verifyContent) {
    this(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, maxSize, verifyContent, List.of());
  }

  public CacheSpec(String id, StoreType type, Optional<Path> storeDir, Optional<Path> target, int compressionLevel,
      Optional<RegistryRef> ref, boolean insecure, List<String> from, Optional<Mode> mode, java.util.OptionalLong maxSize, boolean verifyContent,
      List<String> fallback) {
    this(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, maxSize, verifyContent, fallback, Optional.empty());
  }

  public CacheSpec(String id, StoreType type, Optional<Path> storeDir, Optional<Path> target, int compressionLevel,
      Optional<RegistryRef> ref, boolean insecure, List<String> from, Optional<Mode> mode, java.util.OptionalLong maxSize, boolean verifyContent,
      List<String> fallback, Optional<String> image) {
    this(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, maxSize, verifyContent, fallback, image,
        dev.cachemount.core.image.LayerCompression.ZSTD);
  }

  public CacheSpec(String id, StoreType type, Optional<Path> storeDir, Optional<Path> target, int compressionLevel,
      Optional<RegistryRef> ref, boolean insecure) {
    this(id, type, storeDir, target, compressionLevel, ref, insecure, List.of(), Optional.empty(), java.util.OptionalLong.empty(), false);
  }

  /** A local spec with default settings. */
  public static CacheSpec local(String id, Path storeDir, Path target) {
    return new CacheSpec(id, StoreType.LOCAL, Optional.ofNullable(storeDir), Optional.ofNullable(target), DEFAULT_COMPRESSION_LEVEL,
        Optional.empty(), false);
  }

  /** A registry spec with default settings; {@code ref} without a tag gets the id as its tag. */
  public static CacheSpec registry(String id, String ref, boolean insecure, Path target) {
    return new CacheSpec(id, StoreType.REGISTRY, Optional.empty(), Optional.ofNullable(target), DEFAULT_COMPRESSION_LEVEL,
        Optional.of(RegistryRef.parse(ref).withDefaultTag(id)), insecure);
  }

  /**
   * The name the store files the snapshot under: the id in a local store; the ref's tag (or pinned
   * digest) in a registry.
   */
  public String storeReference() {
    return ref.map(RegistryRef::reference).orElse(id);
  }

  /** The refs of {@link #from} in this spec's registry, each with this spec's id as its tag when it names none. */
  public List<RegistryRef> fromRefs() {
    List<RegistryRef> refs = new ArrayList<>();
    for (String f : from) {
      refs.add(RegistryRef.parse(f).withDefaultTag(id));
    }
    return refs;
  }

  /** The tag a push commits to, or a usage error when the ref pins a digest, which cannot be pushed to. */
  public String pushTag() {
    if (ref.isPresent() && ref.get().digest().isPresent()) {
      throw CachemountException.usage("cache id '" + id + "': ref " + ref.get() + " pins a digest, which can be pulled but not pushed to; give a tag instead of @sha256:...");
    }
    return storeReference();
  }

  /** The same spec with other {@code from=} snapshots (see {@link #from}). */
  public CacheSpec withFrom(List<String> newFrom) {
    return new CacheSpec(id, type, storeDir, target, compressionLevel, ref, insecure, newFrom, mode, maxSize, verifyContent, fallback, image, imageCompression);
  }

  /** The same spec with other {@code fallback=} tag prefixes (see {@link #fallback}). */
  public CacheSpec withFallback(List<String> prefixes) {
    return new CacheSpec(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, maxSize, verifyContent, prefixes, image, imageCompression);
  }

  /** The same spec with {@code mode=} set, or unset (null). */
  public CacheSpec withMode(Mode newMode) {
    return new CacheSpec(id, type, storeDir, target, compressionLevel, ref, insecure, from, Optional.ofNullable(newMode), maxSize, verifyContent, fallback, image, imageCompression);
  }

  /** The same spec with {@code max-size=} bytes (at least 1). */
  public CacheSpec withMaxSize(long bytes) {
    return new CacheSpec(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, java.util.OptionalLong.of(bytes), verifyContent, fallback, image, imageCompression);
  }

  /** The same spec with {@code verify=content} (true) or {@code verify=metadata} (false). */
  public CacheSpec withVerifyContent(boolean content) {
    return new CacheSpec(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, maxSize, content, fallback, image, imageCompression);
  }

  /** The same spec with an image view under {@code tag} (see {@link #image}), or none (null). */
  public CacheSpec withImage(String tag) {
    return new CacheSpec(id, type, storeDir, target, compressionLevel, ref, insecure, from, mode, maxSize, verifyContent, fallback, Optional.ofNullable(tag), imageCompression);
  }

  /** The same spec with another target. */
  public CacheSpec withTarget(Path newTarget) {
    return new CacheSpec(id, type, storeDir, Optional.ofNullable(newTarget), compressionLevel, ref, insecure, from, mode, maxSize, verifyContent, fallback, image, imageCompression);
  }

  /** The target, or a usage error saying that {@code operation} needs one. */
  public Path requireTarget(String operation) {
    return target.orElseThrow(() -> CachemountException.usage(
        "cache id '" + id + "': " + operation + " needs target=DIR, the cache directory (for example target=$HOME/.m2/repository)"));
  }

  /**
   * Parses a spec. A {@code preset=} without {@code target=} runs the preset's tool with this
   * process's environment ({@link PresetDirectories}).
   *
   * @param text the spec; null is taken as empty, and refused as such
   * @param home the user's home directory, for a leading {@code ~/} in paths, and the home of the
   *     presets' tools (Maven's and Gradle's too)
   * @throws CachemountException of kind USAGE naming what is wrong and what is accepted
   */
  public static CacheSpec parse(String text, Path home) {
    return parse(text, home, null);
  }

  /**
   * Parses a spec whose relative {@code dir=} and {@code target=} are relative to {@code base}, not
   * to the working directory: a Maven build's project directory, as paths in a pom are.
   *
   * @param base the directory relative paths are resolved against; null for the working directory
   * @see #parse(String, Path)
   */
  public static CacheSpec parse(String text, Path home, Path base) {
    return parse(text, home, base, new PresetDirectories(System.getenv(), home, home, Optional.empty())::directory);
  }

  /**
   * Parses a spec as {@link #parse(String, Path, Path)} does, a {@code preset=} without {@code target=}
   * getting its target from {@code presetTarget}. That is called at most once, only then, and only
   * once the rest of the spec is found valid (it may run a tool); what it throws is thrown, its
   * message prefixed with the spec's text.
   *
   * @param presetTarget the directory a preset names (a relative one is taken as {@code target=} would be)
   */
  public static CacheSpec parse(String text, Path home, Path base, java.util.function.Function<CachePreset, Path> presetTarget) {
    Map<String, String> fields = new LinkedHashMap<>();
    List<String> from = new ArrayList<>();
    List<String> fallback = new ArrayList<>();
    for (String field : splitCsv(text)) {
      int eq = field.indexOf('=');
      if (eq <= 0) {
        throw CachemountException.usage("cache spec '" + text + "': field '" + field + "' is not key=value");
      }
      String key = field.substring(0, eq).trim().toLowerCase(java.util.Locale.ROOT);
      String value = field.substring(eq + 1);
      if (!KEYS.contains(key)) {
        throw CachemountException.usage("cache spec '" + text + "': unknown key '" + key + "'" + hint(key) + "; known keys: " + String.join(", ", KEYS));
      }
      if (key.equals("from")) {
        from.add(value);
        continue;
      }
      if (key.equals("fallback")) {
        String prefix = value.trim();
        fallbackProblem(prefix).ifPresent(problem -> {
          throw CachemountException.usage("cache spec '" + text + "': " + problem);
        });
        fallback.add(prefix);
        continue;
      }
      if (fields.putIfAbsent(key, value) != null) {
        throw CachemountException.usage("cache spec '" + text + "': key '" + key + "' is given twice");
      }
    }
    Optional<CachePreset> preset = Optional.empty();
    if (fields.containsKey("preset")) {
      String name = fields.get("preset");
      preset = Optional.of(CachePreset.named(name).orElseThrow(() -> CachemountException.usage(
          "cache spec '" + text + "': unknown preset '" + name + "'; known presets: " + CachePreset.names())));
    }
    String id = fields.getOrDefault("id", preset.map(CachePreset::presetName).orElse(null));
    if (id == null || id.isEmpty()) {
      throw CachemountException.usage("cache spec '" + text + "' has no id: add id=NAME (for example id=m2), or preset=NAME ("
          + CachePreset.names() + ")");
    }
    for (String separate : List.of(" ", ";", "=")) {
      if (id.contains(separate)) {
        // "id=npm target=DIR": one field, read as a strange id.
        throw CachemountException.usage("cache spec '" + text + "': id '" + id + "' holds '" + separate + "': fields are separated by"
            + " commas, as in id=npm,target=DIR");
      }
    }
    String refText = fields.get("ref");
    String typeText = fields.get("type");
    StoreType type = refText != null ? StoreType.REGISTRY : StoreType.LOCAL;
    if (typeText != null) {
      type = switch (typeText) {
        case "local" -> StoreType.LOCAL;
        case "registry" -> StoreType.REGISTRY;
        default -> throw CachemountException.usage("cache spec '" + text + "': unknown type '" + typeText + "'; known types: local, registry");
      };
    }
    Optional<RegistryRef> ref = Optional.empty();
    if (type == StoreType.REGISTRY) {
      if (refText == null || refText.isBlank()) {
        throw CachemountException.usage("cache spec '" + text + "': type=registry needs ref=HOST[:PORT]/REPOSITORY[:TAG] (for example ref=ghcr.io/acme/cache:m2)");
      }
      if (fields.containsKey("dir")) {
        throw CachemountException.usage("cache spec '" + text + "': dir= names a local store and does not go with type=registry; remove one of them");
      }
      ref = Optional.of(RegistryRef.parse(refText.trim()).withDefaultTag(id));
    } else if (refText != null) {
      throw CachemountException.usage("cache spec '" + text + "': ref= needs type=registry (or no type at all); type=local stores in dir=");
    }
    boolean insecure = false;
    String insecureText = fields.get("insecure");
    if (insecureText != null) {
      if (type != StoreType.REGISTRY) {
        throw CachemountException.usage("cache spec '" + text + "': insecure= applies to registries only");
      }
      insecure = switch (insecureText.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "true" -> true;
        case "false" -> false;
        default -> throw CachemountException.usage("cache spec '" + text + "': insecure='" + insecureText + "' is not true or false");
      };
    }
    int level = DEFAULT_COMPRESSION_LEVEL;
    String levelText = fields.get("compression-level");
    if (levelText != null) {
      try {
        level = Integer.parseInt(levelText.trim());
      } catch (NumberFormatException e) {
        throw CachemountException.usage("cache spec '" + text + "': compression-level '" + levelText + "' is not a number; use "
            + MIN_COMPRESSION_LEVEL + " to " + MAX_COMPRESSION_LEVEL);
      }
      if (level < MIN_COMPRESSION_LEVEL || level > MAX_COMPRESSION_LEVEL) {
        throw CachemountException.usage("cache spec '" + text + "': compression-level=" + levelText.trim() + " is out of range: use "
            + MIN_COMPRESSION_LEVEL + " to " + MAX_COMPRESSION_LEVEL);
      }
    }
    for (String f : from) {
      if (f.isBlank()) {
        throw CachemountException.usage("cache spec '" + text + "': from= is empty: name another cache");
      }
      if (type == StoreType.REGISTRY) {
        RegistryRef other = RegistryRef.parse(f.trim());
        if (!other.registry().equals(ref.get().registry())) {
          throw CachemountException.usage("cache spec '" + text + "': from=" + f + " is in registry " + other.registry() + ", not " + ref.get().registry()
              + "; a push reuses blobs within one registry only");
        }
      } else if (!TAG.matcher(f).matches()) {
        throw CachemountException.usage("cache spec '" + text + "': from=" + f + " is not a cache id of the same store");
      }
    }
    Optional<Mode> mode = Optional.empty();
    String modeText = fields.get("mode");
    if (modeText != null) {
      mode = Optional.of(switch (modeText.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "mirror" -> Mode.MIRROR;
        case "merge" -> Mode.MERGE;
        default -> throw CachemountException.usage("cache spec '" + text + "': mode='" + modeText + "' is not mirror or merge");
      });
    }
    java.util.OptionalLong maxSize = java.util.OptionalLong.empty();
    if (fields.containsKey("max-size")) {
      maxSize = java.util.OptionalLong.of(ByteSizes.parse(fields.get("max-size"), "cache spec '" + text + "': max-size"));
    }
    CacheSpec spec = new CacheSpec(id, type, path(fields.get("dir"), "dir", home, base), path(fields.get("target"), "target", home, base), level, ref,
        insecure, from.stream().map(String::trim).toList(), mode, maxSize, verify(fields.get("verify"), text), fallback,
        Optional.ofNullable(fields.get("image")).map(String::trim), imageCompression(fields, text));
    if (preset.isEmpty() || spec.target().isPresent()) {
      return spec;
    }
    Path directory;
    try {
      directory = Objects.requireNonNull(presetTarget.apply(preset.get()), "the directory of a preset");
    } catch (CachemountException e) {
      throw new CachemountException(e.kind(), "cache spec '" + text + "': " + e.getMessage(), e);
    }
    return spec.withTarget(base != null ? base.toAbsolutePath().resolve(directory).normalize() : directory.toAbsolutePath().normalize());
  }

  /** {@code image-compression=}: zstd unless given, and given only with {@code image=}. */
  private static dev.cachemount.core.image.LayerCompression imageCompression(Map<String, String> fields, String text) {
    String value = fields.get("image-compression");
    if (value == null) {
      return dev.cachemount.core.image.LayerCompression.ZSTD;
    }
    if (!fields.containsKey("image")) {
      throw CachemountException.usage("cache spec '" + text + "': image-compression= applies to the image view, and the spec has no image=TAG;"
          + " give image=TAG too, or leave image-compression= out");
    }
    return dev.cachemount.core.image.LayerCompression.named(value).orElseThrow(() -> CachemountException.usage("cache spec '" + text
        + "': image-compression=" + value.trim() + " is not " + dev.cachemount.core.image.LayerCompression.names()
        + " (gzip for image tools older than zstd layers: Docker Engine before 23, BuildKit before 0.10)"));
  }

  /**
   * What is wrong with an {@code image=} value, if anything: a tag of the same store, not the
   * snapshot's own ({@code ownTag}).
   */
  private static Optional<String> imageProblem(String tag, String ownTag) {
    if (tag.isEmpty()) {
      return Optional.of("image= is empty: give the tag of the image view, as in image=m2-image");
    }
    if (tag.contains("/") || tag.contains(":") || tag.contains("@")) {
      return Optional.of("image=" + tag + " is not a tag: image= names the tag of the image view in the same store (in a registry, in the ref's"
          + " repository), as in image=m2-image; the snapshot's own place is ref=HOST/REPOSITORY:TAG");
    }
    if (!TAG.matcher(tag).matches()) {
      return Optional.of("image=" + tag + " is not a valid tag: use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    }
    if (tag.equals(ownTag)) {
      return Optional.of("image=" + tag + " is the snapshot's own tag: give the image view a tag of its own, as in image=" + ownTag + "-image");
    }
    return Optional.empty();
  }

  /**
   * What is wrong with a {@code fallback=} value, if anything: it is the start of a tag of the same
   * store (the local store, or the ref's repository), not a ref.
   */
  private static Optional<String> fallbackProblem(String prefix) {
    if (prefix.isEmpty()) {
      return Optional.of("fallback= is empty: give the start of the tags to fall back on, as in id=m2-HASH,fallback=m2-");
    }
    if (prefix.contains("/") || prefix.contains(":") || prefix.contains("@")) {
      return Optional.of("fallback=" + prefix + " is not a tag prefix: fallback= names the start of other tags of the same store"
          + " (in a registry, of the ref's repository), as in fallback=m2-; to reuse another repository's chunks on push, use from=");
    }
    if (!TAG.matcher(prefix).matches()) {
      return Optional.of("fallback=" + prefix + " cannot start a tag: use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    }
    return Optional.empty();
  }

  private static boolean verify(String value, String text) {
    if (value == null) {
      return false;
    }
    return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "metadata" -> false;
      case "content" -> true;
      default -> throw CachemountException.usage("cache spec '" + text + "': verify='" + value + "' is not metadata or content");
    };
  }

  private static String hint(String key) {
    return switch (key) {
      case "repository", "registry", "name" -> " (did you mean ref=HOST/REPOSITORY:TAG?)";
      case "src", "dest", "path", "destination", "source" -> " (did you mean target=?)";
      case "store", "store-dir" -> " (did you mean dir=?)";
      case "level", "compression" -> " (did you mean compression-level=?)";
      case "restore-keys", "restore-key", "restore_keys", "fallbacks" -> " (did you mean fallback=PREFIX?)";
      case "tool", "presets" -> " (did you mean preset=NAME?)";
      default -> "";
    };
  }

  private static Optional<Path> path(String value, String key, Path home, Path base) {
    if (value == null) {
      return Optional.empty();
    }
    if (value.isEmpty()) {
      throw CachemountException.usage(key + "= is empty: give a directory");
    }
    String expanded = value;
    if (value.equals("~")) {
      expanded = home.toString();
    } else if (value.startsWith("~/")) {
      expanded = home.resolve(value.substring(2)).toString();
    }
    try {
      Path path = Path.of(expanded);
      return Optional.of((base != null ? base.toAbsolutePath().resolve(path) : path.toAbsolutePath()).normalize());
    } catch (InvalidPathException e) {
      throw CachemountException.usage(key + "=" + value + " is not a valid path: " + e.getReason());
    }
  }

  /**
   * Splits one CSV record as Go's encoding/csv reads it (what buildx uses): fields separated by
   * commas; a field that starts with a double quote runs to the matching quote, with {@code ""} for
   * a quote inside; a quote inside an unquoted field is an error.
   */
  static List<String> splitCsv(String text) {
    List<String> fields = new ArrayList<>();
    // Null is what a front hands over for a spec that is there but empty: Maven's <cacheId/>, or
    // <cacheId>${prop}</cacheId> with the property set to nothing.
    if (text == null || text.isEmpty()) {
      throw CachemountException.usage("cache spec is empty: give at least id=NAME");
    }
    int i = 0;
    int n = text.length();
    while (true) {
      StringBuilder field = new StringBuilder();
      if (i < n && text.charAt(i) == '"') {
        i++;
        while (true) {
          if (i >= n) {
            throw CachemountException.usage("cache spec '" + text + "': a quoted field has no closing quote");
          }
          char c = text.charAt(i++);
          if (c == '"') {
            if (i < n && text.charAt(i) == '"') {
              field.append('"');
              i++;
            } else {
              break;
            }
          } else {
            field.append(c);
          }
        }
        if (i < n && text.charAt(i) != ',') {
          throw CachemountException.usage("cache spec '" + text + "': unexpected text after a closing quote at character " + (i + 1));
        }
      } else {
        while (i < n && text.charAt(i) != ',') {
          char c = text.charAt(i++);
          if (c == '"') {
            throw CachemountException.usage("cache spec '" + text + "': a quote inside an unquoted field at character " + i
                + "; quote the whole field, as in \"target=/a,b\"");
          }
          field.append(c);
        }
      }
      if (field.length() == 0) {
        throw CachemountException.usage("cache spec '" + text + "' has an empty field; remove the extra comma");
      }
      fields.add(field.toString());
      if (i >= n) {
        return fields;
      }
      i++; // the comma
    }
  }
}
