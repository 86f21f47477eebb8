package dev.cachemount.core.registry;

import dev.cachemount.core.blob.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which repositories of a registry this machine has seen holding a blob, so that a push can ask the
 * registry to mount the blob from there instead of uploading it (Docker keeps the same record). A
 * hint only: a wrong or stale one costs one refused mount, after which the blob is uploaded.
 *
 * <p>One line per sighting, {@code REGISTRY REPOSITORY DIGEST}, appended; read once per store. When
 * the file passes {@link #MAX_LINES} lines the older half is dropped (temp file and rename).
 */
final class BlobLocations {
  static final int MAX_LINES = 200_000;

  private final Optional<Path> file;
  private final Map<String, Set<String>> byBlob = new HashMap<>();
  private final Set<String> recorded = new java.util.HashSet<>();
  private boolean loaded;

  /** @param file where the record lives; empty keeps it in memory only */
  BlobLocations(Optional<Path> file) {
    this.file = file;
  }

  /** Repositories of {@code registry} other than {@code except} that held {@code digest}, newest first. */
  synchronized List<String> holders(String registry, String except, Digest digest) {
    load();
    Set<String> repos = byBlob.getOrDefault(registry + " " + digest, Set.of());
    List<String> out = new ArrayList<>();
    for (String r : repos) {
      if (!r.equals(except)) {
        out.add(0, r);
      }
    }
    return out;
  }

  /** Notes that {@code repository} holds {@code digest}. Failing to write the record is not an error. */
  synchronized void record(String registry, String repository, Digest digest) {
    load();
    String line = registry + " " + repository + " " + digest;
    if (!recorded.add(line)) {
      return;
    }
    byBlob.computeIfAbsent(registry + " " + digest, k -> new LinkedHashSet<>()).add(repository);
    if (file.isPresent()) {
      try {
        Files.createDirectories(file.get().getParent());
        Files.writeString(file.get(), line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      } catch (IOException e) {
        // A lost hint costs an upload later, nothing else.
      }
    }
  }

  private void load() {
    if (loaded) {
      return;
    }
    loaded = true;
    if (file.isEmpty()) {
      return;
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(file.get(), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      return;
    }
    if (lines.size() > MAX_LINES) {
      lines = new ArrayList<>(lines.subList(lines.size() - MAX_LINES / 2, lines.size()));
      rewrite(lines);
    }
    for (String line : lines) {
      String[] f = line.split(" ");
      if (f.length == 3) {
        recorded.add(line);
        byBlob.computeIfAbsent(f[0] + " " + f[2], k -> new LinkedHashSet<>()).add(f[1]);
      }
    }
  }

  private void rewrite(List<String> lines) {
    Path target = file.get();
    Path temp = target.resolveSibling(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    try {
      Files.write(temp, lines, StandardCharsets.UTF_8);
      Files.move(temp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // Nothing more to do for a hint file.
      }
    }
  }
}
