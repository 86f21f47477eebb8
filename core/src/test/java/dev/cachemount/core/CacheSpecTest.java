package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cachemount.core.registry.RegistryRef;
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
    assertTrue(e.getMessage().contains("id, type, ref, dir, target, compression-level, insecure"), e.getMessage());
    assertTrue(usage("id=m2,src=/x").getMessage().contains("did you mean target="));
    assertTrue(usage("id=m2,image=host/repo:tag").getMessage().contains("the snapshot's own place is ref=HOST/REPOSITORY:TAG"));
    assertTrue(usage("id=m2,repository=host/repo").getMessage().contains("did you mean ref="));
  }

  @Test
  void aMissingIdSaysHowToGiveOne() {
    assertTrue(usage("target=/x").getMessage().contains("has no id"));
    assertTrue(usage("id=,target=/x").getMessage().contains("has no id"));
  }

  @Test
  void relativePathsAreRelativeToTheBaseGivenElseToTheWorkingDirectory() {
    Path base = Path.of("/work/proj");
    CacheSpec spec = CacheSpec.parse("id=m2,dir=store,target=./relc/../relc", HOME, base);
    assertEquals(Optional.of(Path.of("/work/proj/store")), spec.storeDir());
    assertEquals(Optional.of(Path.of("/work/proj/relc")), spec.target());
    assertEquals(Optional.of(Path.of("/work/shared")), CacheSpec.parse("id=m2,target=../shared", HOME, base).target());
    CacheSpec absolute = CacheSpec.parse("id=m2,dir=/var/store,target=~/.m2/repository", HOME, base);
    assertEquals(Optional.of(Path.of("/var/store")), absolute.storeDir(), "an absolute path stays");
    assertEquals(Optional.of(Path.of("/home/user/.m2/repository")), absolute.target(), "~/ is the home, not the base");
    Path cwd = Path.of("").toAbsolutePath();
    assertEquals(Optional.of(cwd.resolve("relc")), parse("id=m2,target=relc").target());
    assertEquals(Optional.of(cwd.resolve("relc")), CacheSpec.parse("id=m2,target=relc", HOME, null).target());
  }

  @Test
  void anEmptySpecIsAUsageErrorAndSoIsANullOne() {
    // Null is what Maven injects for <cacheId/>, or for <cacheId>${p}</cacheId> with -Dp= empty.
    assertTrue(usage("").getMessage().contains("cache spec is empty: give at least id=NAME"));
    assertTrue(usage(null).getMessage().contains("cache spec is empty: give at least id=NAME"));
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
    "id=m2,type=registry | needs ref=HOST[:PORT]/REPOSITORY[:TAG]",
    "id=m2,type=local,ref=h.io/r | ref= needs type=registry",
    "id=m2,ref=h.io/r,dir=/x | does not go with type=registry",
    "id=m2,dir=/x,insecure=true | applies to registries only",
    "id=m2,ref=h.io/r,insecure=yes | is not true or false",
    "id=m2,ref=https://h.io/r | without a scheme",
    "id=m2,ref=h.io/Upper | repository 'Upper' is not valid",
    "id=m2,ref=h.io/r:bad:tag | is not valid",
    "id=m2,ref=h.io/r@sha256:abc | is not a sha256 digest",
    "id=m2,compression-level=0 | cache spec 'id=m2,compression-level=0': compression-level=0 is out of range: use 1 to 19",
    "id=m2,compression-level=25 | cache spec 'id=m2,compression-level=25': compression-level=25 is out of range",
    "id=npm target=/x | id 'npm target=/x' holds ' ': fields are separated by commas, as in id=npm,target=DIR",
    "id=npm;target=/x | holds ';': fields are separated by commas",
    "id=m2,compression-level=fast | not a number",
    "id=m2,target= | is empty",
  })
  void malformedSpecsAreUsageErrors(String text, String expected) {
    CachemountException e = usage(text);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void aRefMeansARegistryAndItsTagDefaultsToTheId() {
    CacheSpec spec = parse("id=mvncache,ref=registry.example.com:5000/team/dep-cache,target=/x");
    assertEquals(StoreType.REGISTRY, spec.type());
    RegistryRef ref = spec.ref().orElseThrow();
    assertEquals("registry.example.com:5000", ref.registry());
    assertEquals("team/dep-cache", ref.repository());
    assertEquals("mvncache", spec.storeReference());
    assertEquals("mvncache", spec.pushTag());
    assertEquals(false, spec.insecure());
    assertEquals("v2", parse("id=m2,type=registry,ref=ghcr.io/acme/cache:v2,insecure=true").storeReference());
    assertTrue(parse("id=m2,type=registry,ref=ghcr.io/acme/cache:v2,insecure=true").insecure());
  }

  @Test
  void aRefPinnedByDigestCanBePulledButNotPushedTo() {
    String digest = "sha256:" + "ab".repeat(32);
    CacheSpec spec = parse("id=m2,ref=ghcr.io/acme/cache@" + digest);
    assertEquals(digest, spec.storeReference());
    CachemountException e = assertThrows(CachemountException.class, spec::pushTag);
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("pins a digest"), e.getMessage());
  }

  @Test
  void refsWithoutARegistryHostMeanDockerHubAsWithDocker() {
    RegistryRef hub = RegistryRef.parse("acme/cache:m2");
    assertEquals("registry-1.docker.io", hub.registry());
    assertEquals("acme/cache", hub.repository());
    assertEquals("library/cache", RegistryRef.parse("docker.io/cache").repository());
    assertEquals("localhost:5000", RegistryRef.parse("localhost:5000/cache").registry());
    assertTrue(RegistryRef.parse("localhost:5000/cache").isLoopback());
    assertTrue(RegistryRef.parse("127.0.0.1:5000/cache").isLoopback());
    assertEquals(false, RegistryRef.parse("ghcr.io/acme/cache").isLoopback());
    assertEquals("ghcr.io", RegistryRef.parse("GHCR.io/acme/cache").registry());
    assertEquals("library/cache.v2", RegistryRef.parse("cache.v2:m2").repository(), "a Docker Hub name with a dot and a tag");
  }

  @Test
  void aRegistryWithoutARepositoryIsAUsageErrorNotDockerHub() {
    // Docker reads 127.0.0.1:5000 as Docker Hub's library/127.0.0.1 with the tag 5000.
    for (String ref : List.of("127.0.0.1:5000", "localhost:5000", "registry.example.com:443")) {
      CachemountException e = assertThrows(CachemountException.class, () -> RegistryRef.parse(ref), ref);
      assertEquals(FailureKind.USAGE, e.kind());
      assertTrue(e.getMessage().contains("names no repository") && e.getMessage().contains("ref=" + ref + "/NAME"), e.getMessage());
    }
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

  /**
   * A spec made in code is checked as a parsed one is: a library's caller could give from= a path
   * out of the store ({@code ../../etc/passwd}) or another registry, and the push went ahead.
   */
  @Test
  void aSpecMadeInCodeIsCheckedAsAParsedOneIs() {
    CacheSpec local = CacheSpec.local("m2", Path.of("/s"), Path.of("/t"));
    for (String bad : List.of("../../etc/passwd", "", "  ", "a/b")) {
      CachemountException e = assertThrows(CachemountException.class, () -> local.withFrom(List.of(bad)), bad);
      assertEquals(FailureKind.USAGE, e.kind());
      assertTrue(e.getMessage().contains("from="), e.getMessage());
    }
    assertEquals(List.of("other"), local.withFrom(List.of(" other ")).from());
    CacheSpec remote = CacheSpec.registry("m2", "reg.example/cache", false, Path.of("/t"));
    CachemountException elsewhere = assertThrows(CachemountException.class, () -> remote.withFrom(List.of("other.example/cache:x")));
    assertTrue(elsewhere.getMessage().contains("within one registry"), elsewhere.getMessage());
    assertEquals(List.of("reg.example/other:x"), remote.withFrom(List.of("reg.example/other:x")).from());
    assertEquals(FailureKind.USAGE, assertThrows(CachemountException.class, () -> local.withMaxSize(0)).kind());
    assertEquals(FailureKind.USAGE, assertThrows(CachemountException.class,
        () -> new CacheSpec("m2", StoreType.REGISTRY, Optional.empty(), Optional.empty(), 3, Optional.empty(), false)).kind());
    CacheSpec all = local.withMode(CacheSpec.Mode.MERGE).withMaxSize(1024).withVerifyContent(true);
    assertEquals(parse("id=m2,dir=/s,target=/t,mode=merge,max-size=1KiB,verify=content"), all);
  }

  /** fallback= is repeatable, kept in the order given (the order they are tried in), trimmed, and goes with either store. */
  @Test
  void fallbackPrefixesAreKeptInOrder() {
    CacheSpec spec = parse("id=m2-abc123,ref=registry.example.com/cache,fallback=m2-feature-, fallback=m2-");
    assertEquals(List.of("m2-feature-", "m2-"), spec.fallback());
    assertEquals(List.of("go-"), parse("id=go-1,fallback=go-").fallback());
    assertEquals(List.of(), parse("id=go-1").fallback());
    assertEquals(List.of("x"), parse("id=go-1").withFallback(List.of("x")).withTarget(Path.of("/t")).withMode(CacheSpec.Mode.MERGE).fallback(),
        "the with... methods keep it");
  }

  /** A fallback is the start of a tag of the same store; what is not, is named with what to do. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "id=m2,fallback=|fallback= is empty",
      "id=m2,ref=r.example.com/cache,fallback=r.example.com/cache:m2-|is not a tag prefix",
      "id=m2,fallback=other:m2-|is not a tag prefix",
      "id=m2,fallback=-m2|cannot start a tag",
      "id=m2,fallback=m2 x|cannot start a tag",
      "id=m2,restore-keys=m2-|did you mean fallback=PREFIX?",
      "id=m2,ref=r.example.com/cache@sha256:0000000000000000000000000000000000000000000000000000000000000000,fallback=m2-|pins a digest, and fallback= does not go with it"})
  void aFallbackThatIsNotATagPrefixIsAUsageError(String text, String expected) {
    CachemountException e = usage(text);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  /** image= names a tag of its own in the same store; what is not, or what cannot be written from the directory, is a usage error. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "id=m2,image=|image= is empty",
      "id=m2,ref=r.example.com/cache,image=r.example.com/cache:img|is not a tag",
      "id=m2,image=other:img|is not a tag",
      "id=m2,image=-img|is not a valid tag",
      "id=m2,image=m2|is the snapshot's own tag",
      "id=m2,ref=r.example.com/cache:mvn,image=mvn|is the snapshot's own tag",
      "id=m2,image-compression=gzip|image-compression= applies to the image view, and the spec has no image=TAG",
      "id=m2,image=m2-image,image-compression=lz4|image-compression=lz4 is not zstd or gzip",
      "id=m2,image=m2-image,image-compression=|image-compression= is not zstd or gzip"})
  void anImageThatIsNotATagOfItsOwnIsAUsageError(String text, String expected) {
    CachemountException e = usage(text);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void anImageTagIsKeptThroughTheSpecsCopies() {
    CacheSpec spec = parse("id=m2,ref=r.example.com/cache,image= m2-image ");
    assertEquals(java.util.Optional.of("m2-image"), spec.image());
    assertEquals(java.util.Optional.of("m2-image"), spec.withTarget(Path.of("/t")).withFallback(List.of("m2-")).withMaxSize(5).image());
    assertEquals(java.util.Optional.empty(), parse("id=m2").image());
    assertEquals(java.util.Optional.of("m2-image"), spec.withMode(CacheSpec.Mode.MERGE).image(), "a merged cache has a view too");
    assertEquals(dev.cachemount.core.image.LayerCompression.ZSTD, spec.imageCompression(), "zstd unless told");
    CacheSpec gzip = parse("id=m2,ref=r.example.com/cache,image=m2-image,image-compression= GZip ");
    assertEquals(dev.cachemount.core.image.LayerCompression.GZIP, gzip.imageCompression());
    assertEquals(dev.cachemount.core.image.LayerCompression.GZIP,
        gzip.withTarget(Path.of("/t")).withFallback(List.of("m2-")).withMaxSize(5).withMode(CacheSpec.Mode.MERGE).withFrom(List.of()).imageCompression());
  }

  @Test
  void aFallbackMadeInCodeIsCheckedToo() {
    CachemountException e = assertThrows(CachemountException.class, () -> parse("id=m2").withFallback(List.of("a/b")));
    assertEquals(FailureKind.USAGE, e.kind());
    assertTrue(e.getMessage().contains("cache id 'm2'"), e.getMessage());
  }
}
