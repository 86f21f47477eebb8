package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CacheSpecTest {
  private static final Path HOME = Path.of("/home/user");

  private static CacheSpec parse(String text) {
    return CacheSpec.parse(text, HOME);
  }

  private static CachemountException usage(String text) {
    CachemountException e = assertThrows(CachemountException.class, () -> parse(text));
    assertEquals(FailureKind.USAGE, e.kind(), e.getMessage());
    return e;
  }

  @Test
  void parsesEveryKey() {
    CacheSpec spec = parse("id=m2,type=local,dir=/var/store,target=/work/repo,compression-level=7");
    assertEquals("m2", spec.id());
    assertEquals(StoreType.LOCAL, spec.type());
    assertEquals(Optional.of(Path.of("/var/store")), spec.storeDir());
    assertEquals(Optional.of(Path.of("/work/repo")), spec.target());
    assertEquals(7, spec.compressionLevel());
  }

  @Test
  void defaultsAndHomeExpansion() {
    CacheSpec spec = parse("ID=go-build,Target=~/.cache/go-build");
    assertEquals(StoreType.LOCAL, spec.type());
    assertEquals(Optional.empty(), spec.storeDir());
    assertEquals(Optional.of(Path.of("/home/user/.cache/go-build")), spec.target());
    assertEquals(3, spec.compressionLevel());
  }

  @Test
  void quotedFieldsMayHoldCommasAndQuotesAsBuildxReadsThem() {
    assertEquals(List.of("id=a", "target=/x,y", "dir=/q\"uote"), CacheSpec.splitCsv("id=a,\"target=/x,y\",\"dir=/q\"\"uote\""));
    assertEquals(Optional.of(Path.of("/x,y")), parse("id=a,\"target=/x,y\"").target());
  }

  @Test
  void anUnknownKeyIsNamedWithTheKeysThatExist() {
    CachemountException e = usage("id=m2,colour=blue");
    assertTrue(e.getMessage().contains("unknown key 'colour'"), e.getMessage());
    assertTrue(e.getMessage().contains("id, type, dir, target, compression-level"), e.getMessage());
    assertTrue(usage("id=m2,src=/x").getMessage().contains("did you mean target="));
    assertTrue(usage("id=m2,ref=host/repo:tag").getMessage().contains("type=registry"));
  }

  @Test
  void aMissingIdSaysHowToGiveOne() {
    assertTrue(usage("target=/x").getMessage().contains("has no id"));
    assertTrue(usage("id=,target=/x").getMessage().contains("has no id"));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "id=m2,id=m3 | given twice",
    "id=m2,,target=/x | empty field",
    "id=m2,target | not key=value",
    "\"id=m2 | no closing quote",
    "id=m\"2 | quote inside an unquoted field",
    "\"id=m2\"x | after a closing quote",
    "id=.hidden | not valid",
    "id=has/slash | not valid",
    "id=m2,type=s3 | unknown type 's3'",
    "id=m2,type=registry | not available in this version",
    "id=m2,compression-level=0 | out of range",
    "id=m2,compression-level=fast | not a number",
    "id=m2,target= | is empty",
  })
  void malformedSpecsAreUsageErrors(String text, String expected) {
    CachemountException e = usage(text);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void anEmptySpecIsAUsageError() {
    usage("");
  }

  @Test
  void requireTargetNamesTheOperation() {
    CachemountException e = assertThrows(CachemountException.class, () -> parse("id=m2").requireTarget("push"));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("push needs target=DIR"), e.getMessage());
  }
}
