package dev.cachemount.core.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Where a path leads when the kernel follows it, links and all, including through parts that do not
 * exist yet: as {@code realpath -m}, but refusing at the first step out of a root.
 */
final class LinkResolution {
  /** As the kernel's limit on links followed in one lookup: past it, the lookup fails ({@code ELOOP}). */
  private static final int MAX_HOPS = 40;

  private LinkResolution() {}

  /**
   * Whether {@code path} (inside {@code root}, a real directory) leads only to places inside it, step
   * by step: a {@code ..} above the root, or an absolute link that does not name the root, is a way
   * out. A lookup that loops leads nowhere, so it stays inside.
   */
  static boolean staysInside(Path root, Path path) throws IOException {
    Deque<String> rest = new ArrayDeque<>();
    for (Path name : root.relativize(path)) {
      rest.addLast(name.toString());
    }
    Path at = root;
    int hops = 0;
    while (!rest.isEmpty()) {
      String name = rest.pollFirst();
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      if (name.equals("..")) {
        if (at.equals(root)) {
          return false;
        }
        at = at.getParent();
        continue;
      }
      Path next = at.resolve(name);
      if (!Files.isSymbolicLink(next)) {
        at = next;
        continue;
      }
      if (++hops > MAX_HOPS) {
        return true;
      }
      String target = Files.readSymbolicLink(next).toString();
      if (target.startsWith("/")) {
        // An absolute link leads inside only through the root's own names, as written: the rest is
        // then followed from the root, step by step, as a relative link's is.
        target = underRoot(root, target);
        if (target == null) {
          return false;
        }
        at = root;
      }
      String[] names = target.split("/");
      for (int i = names.length - 1; i >= 0; i--) {
        rest.addFirst(names[i]);
      }
    }
    return true;
  }

  /**
   * What follows the root in an absolute link target that starts with the root's names (empty and
   * {@code .} names, which the kernel skips, skipped); null when it does not start with them.
   */
  private static String underRoot(Path root, String target) {
    String[] names = target.split("/");
    int i = 0;
    for (Path rootName : root) {
      while (i < names.length && (names[i].isEmpty() || names[i].equals("."))) {
        i++;
      }
      if (i == names.length || !names[i].equals(rootName.toString())) {
        return null;
      }
      i++;
    }
    return String.join("/", java.util.Arrays.asList(names).subList(i, names.length));
  }
}
