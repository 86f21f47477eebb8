package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.FileSystemException;
import org.junit.jupiter.api.Test;

/** The file system's errors as a user reads them: what failed, where, and what to do. */
class IoErrorsTest {
  @Test
  void aPullsTemporaryFileIsNamedByItsDirectoryAndAReadOnlyFileSystemSaysWhatToDo() {
    assertEquals("writing into /srv/cache/org: Read-only file system (the file system is mounted read-only: use a writable directory)",
        IoErrors.describe(new FileSystemException("/srv/cache/org/.cachemount-tmp-5eed", null, "Read-only file system")));
  }

  @Test
  void aBusyMountPointAndAFileSystemWithoutSymlinksSayWhatToDo() {
    assertEquals("/t/vol -> /t/.cachemount-tmp-aside-1: Device or resource busy (a mount point, or in use by the system: unmount it,"
        + " or use another directory)", IoErrors.describe(new FileSystemException("/t/vol", "/t/.cachemount-tmp-aside-1", "Device or resource busy")));
    assertEquals("writing into /fat/t: Function not implemented (the file system cannot do this (FAT has no symlinks, say): use a Linux"
        + " file system such as ext4)", IoErrors.describe(new FileSystemException("/fat/t/.cachemount-tmp-9", null, "Function not implemented")));
  }

  @Test
  void aDeniedWriteAFullDiskAndWhatWasMovedAsideSayWhereAndWhatToDo() {
    assertEquals("permission denied: writing into /srv/cache/org (make it writable by this user, or use another directory)",
        IoErrors.describe(new java.nio.file.AccessDeniedException("/srv/cache/org/.cachemount-tmp-5eed")));
    assertEquals("writing into /srv/cache: No space left on device (free space, or use another directory)",
        IoErrors.describe(new FileSystemException("/srv/cache/.cachemount-tmp-1", null, "No space left on device")));
    assertEquals("/t/.cachemount-tmp-aside-1: Input/output error",
        IoErrors.describe(new FileSystemException("/t/.cachemount-tmp-aside-1", null, "Input/output error")), "the user's, moved aside");
  }

  /**
   * A pull whose directory a cache cleanup deleted under it said "no such file or directory" of its own
   * temporary file, which the user never made (found by a helper deleting a directory during pulls).
   */
  @Test
  void aTemporaryFileOrItsDirectoryDeletedUnderThePullSaysSo(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    String gone = dir.resolve("d10").toString();
    assertEquals("the directory " + gone + " vanished while the pull wrote into it: another program deleted it (a cache cleanup, a build"
        + " that runs meanwhile); pull again once nothing else deletes in the target",
        IoErrors.describe(new java.nio.file.NoSuchFileException(gone + "/.cachemount-tmp-4066ff59-31ad806")));
    String temp = dir.resolve(".cachemount-tmp-4066ff59-31ad806").toString();
    assertEquals("the pull's temporary file " + temp + " vanished while the pull wrote it: another program deleted it (a cache cleanup,"
        + " a build that runs meanwhile); pull again once nothing else deletes in the target",
        IoErrors.describe(new java.nio.file.NoSuchFileException(temp)));
    assertEquals("no such file or directory: /srv/cache/a.jar", IoErrors.describe(new java.nio.file.NoSuchFileException("/srv/cache/a.jar")));
  }

  /** A write into a full disk fails with a plain IOException, no file named: it says what to do too. */
  @Test
  void aWriteIntoAFullDiskWithoutAFileSaysWhatToDo() {
    assertEquals("No space left on device (free space, or use another directory)", IoErrors.describe(new java.io.IOException("No space left on device")));
    assertEquals("Connection reset", IoErrors.describe(new java.io.IOException("Connection reset")));
  }

  @Test
  void otherErrorsStayAsTheSystemSaidThem() {
    assertEquals("/a/b: Input/output error", IoErrors.describe(new FileSystemException("/a/b", null, "Input/output error")));
  }
}
