package dev.cachemount.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The mount points inside a directory, as /proc/self/mountinfo lists them. */
class MountPointsTest {
  @Test
  void theMountPointsStrictlyInsideTheRootWithTheKernelsEscapesUndone() {
    List<String> mountinfo = List.of(
        "27 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
        "40 27 0:30 / /srv/cache rw,relatime shared:20 - ext4 /dev/vdb rw",
        "41 40 0:31 / /srv/cache/vol rw,relatime shared:21 - tmpfs tmpfs rw",
        "42 40 259:1 /data/x /srv/cache/my\\040dir/bind rw,relatime shared:1 - ext4 /dev/vda1 rw",
        "43 27 0:32 / /srv/cache-other rw - tmpfs tmpfs rw");
    assertEquals(Set.of(Path.of("/srv/cache/vol"), Path.of("/srv/cache/my dir/bind")), MountPoints.inside(mountinfo, Path.of("/srv/cache")));
    assertEquals(Set.of(), MountPoints.inside(mountinfo, Path.of("/srv/cache/vol")));
  }

  @Test
  void aLineThatCannotBeNamedDoesNotLoseTheOthers() {
    List<String> mountinfo = List.of(
        "41 40 0:31 / /srv/odd\\000name rw - tmpfs tmpfs rw",
        "42 40 0:32 / /srv/cache/vol rw - tmpfs tmpfs rw");
    assertEquals(Set.of(Path.of("/srv/cache/vol")), MountPoints.inside(mountinfo, Path.of("/srv/cache")));
  }

  @Test
  void theMountPointAtOrBelowADirectory() {
    Set<Path> mounts = Set.of(Path.of("/t/a/b"));
    assertEquals(Path.of("/t/a/b"), MountPoints.atOrBelow(Path.of("/t/a"), mounts).orElseThrow());
    assertEquals(Path.of("/t/a/b"), MountPoints.atOrBelow(Path.of("/t/a/b"), mounts).orElseThrow());
    assertEquals(false, MountPoints.atOrBelow(Path.of("/t/a/bc"), mounts).isPresent());
  }
}
