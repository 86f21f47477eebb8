package dev.cachemount.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.cachemount.it.registry.RegistryMode;
import dev.cachemount.it.registry.TestRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build tools themselves accept what cachemount restores, which comparing trees cannot show: Go
 * builds nothing anew from a restored {@code GOCACHE}, builds and verifies modules from a restored
 * {@code GOMODCACHE} without a proxy, and npm installs offline from a restored {@code _cacache}. Each
 * cache is filled by its tool, pushed with its {@code preset=} through a real registry on loopback,
 * pulled into a new directory, and used there; a control run with an empty cache shows that the tool
 * would have failed (or compiled) without it. Nothing reaches beyond loopback: Go runs with
 * {@code GOPROXY=off} or a {@code file://} proxy the test writes, npm against a registry the test
 * serves on loopback, and every tool with its home and caches in the test's directory.
 */
class RealToolsUseRestoredCachesIT {
  /** A compile tool invocation in the output of {@code go build -x}: {@code .../pkg/tool/linux_amd64/compile -o ...}. */
  private static final Pattern GO_COMPILE = Pattern.compile("(?m)^\\S*/compile\\s.*$");
  private static final Pattern NPM_VERIFIED = Pattern.compile("Content verified: (\\d+) \\(\\d+ bytes\\)");

  @TempDir Path dir;

  /**
   * {@code go build} with a {@code GOCACHE} that a pull made in a new directory compiles none of the
   * program's packages, in a checkout written anew (new files, new times, same path, as a CI job's
   * checkout), and the program it links runs; with an empty {@code GOCACHE} the same build compiles
   * both packages, so the check could fail.
   */
  @Test
  void goCompilesNothingWithABuildCacheRestoredIntoANewDirectory() throws Exception {
    String go = Processes.require("go", "apt-get install -y golang-go");
    Path source = dir.resolve("work/hello");
    Path filled = dir.resolve("gocache-filled");
    writeHelloProgram(source);
    Processes.Result fill = tool(source, goEnv(filled, dir.resolve("gomodcache"), "off"), go, "build", "-o", dir.resolve("bin/first").toString(), ".");
    assertEquals(0, fill.exitCode(), fill.toString());

    Path restored = dir.resolve("gocache-restored");
    try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("cachemount-home"));
      pushAndPull(access, goEnv(filled, dir.resolve("gomodcache"), "off"), "go-build", restored);
    }

    deleteTree(source);
    writeHelloProgram(source);
    Path binary = dir.resolve("bin/from-restored");
    Processes.Result build = tool(source, goEnv(restored, dir.resolve("gomodcache"), "off"), go, "build", "-x", "-o", binary.toString(), ".");
    assertEquals(0, build.exitCode(), build.toString());
    assertEquals(List.of(), compilations(build.stderr()), "nothing compiled with the restored GOCACHE:\n" + build.stderr());
    Processes.Result run = tool(source, Map.of(), binary.toString());
    assertEquals("hello, CACHE\n", run.out(), run.toString());

    Processes.Result cold = tool(source, goEnv(dir.resolve("gocache-empty"), dir.resolve("gomodcache"), "off"), go, "build", "-x", "-o",
        dir.resolve("bin/cold").toString(), ".");
    assertEquals(0, cold.exitCode(), cold.toString());
    String compiled = String.join("\n", compilations(cold.stderr()));
    assertTrue(compiled.contains("-p main ") && compiled.contains("-p example.com/hello/greeting "),
        "the control: with an empty GOCACHE both packages are compiled:\n" + cold.stderr());
  }

  /**
   * A {@code GOMODCACHE} filled by {@code go mod download} from a {@code file://} proxy and pulled into
   * a new directory builds the module that requires it with {@code GOPROXY=off} (the program runs),
   * and {@code go mod verify} finds every module's files as their hashes say. (The restored module
   * directories are writable, not read-only as Go left them: a pull restores no permission bits but
   * the executable one; Go accepts them so.) With {@code GOPROXY=off} and an empty module cache the
   * build fails, so the restored cache is what it used.
   */
  @Test
  void goBuildsAndVerifiesModulesFromAModuleCacheRestoredWithoutAProxy() throws Exception {
    String go = Processes.require("go", "apt-get install -y golang-go");
    Path proxy = writeModuleProxy(dir.resolve("goproxy"));
    Path consumer = writeConsumerModule(dir.resolve("work/consumer"));
    Path filled = dir.resolve("gomodcache-filled");
    Path restored = dir.resolve("gomodcache-restored");
    Path empty = dir.resolve("gomodcache-empty");
    try {
      Map<String, String> fillEnv = goEnv(dir.resolve("gocache-fill"), filled, proxy.toUri().toString());
      Processes.Result download = tool(consumer, fillEnv, go, "mod", "download");
      assertEquals(0, download.exitCode(), download.toString());
      Processes.Result fill = tool(consumer, fillEnv, go, "build", "-o", dir.resolve("bin/first").toString(), ".");
      assertEquals(0, fill.exitCode(), "the build records the module's hash in go.sum: " + fill);
      Path module = Path.of("example.com/greet@v1.0.0");
      assertTrue(Files.isRegularFile(filled.resolve(module).resolve("greet.go")), "go extracted the module");

      try (TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
        RegistryAccess access = RegistryAccess.of(registry, dir.resolve("cachemount-home"));
        pushAndPull(access, fillEnv, "go-mod", restored);
      }

      Map<String, String> offline = goEnv(dir.resolve("gocache-offline"), restored, "off");
      Path binary = dir.resolve("bin/from-restored");
      Processes.Result build = tool(consumer, offline, go, "build", "-o", binary.toString(), ".");
      assertEquals(0, build.exitCode(), "built from the restored module cache alone: " + build);
      Processes.Result run = tool(consumer, Map.of(), binary.toString());
      assertEquals("hello, modules\n", run.out(), run.toString());
      Processes.Result verify = tool(consumer, offline, go, "mod", "verify");
      assertEquals(0, verify.exitCode(), verify.toString());
      assertTrue(verify.out().contains("all modules verified"), verify.toString());

      Processes.Result cold = tool(consumer, goEnv(dir.resolve("gocache-empty"), empty, "off"), go, "build", "-o",
          dir.resolve("bin/cold").toString(), ".");
      assertNotEquals(0, cold.exitCode(), "the control: without the module cache and a proxy, the build fails: " + cold);
      assertTrue(cold.stderr().contains("GOPROXY=off"), cold.toString());
    } finally {
      for (Path cache : List.of(filled, restored, empty)) {
        makeWritable(cache); // Go makes the module directories read-only, and @TempDir must delete them
      }
    }
  }

  /**
   * An npm cache filled by an install from a registry on loopback and pulled into a new directory
   * installs the package with {@code --offline} (the registry sees no request), with the package's
   * files, and {@code npm cache verify} finds in it as much whole content as in the cache that was
   * pushed; an offline install with an empty cache fails, so the restored one is what it read.
   */
  @Test
  void npmInstallsOfflineFromACacheRestoredIntoANewDirectory() throws Exception {
    String npm = Processes.require("npm", "apt-get install -y npm");
    Path tarball = npmPack(npm, dir.resolve("work/greet-cached"));
    Path filled = dir.resolve("npm-cache-filled");
    Path restored = dir.resolve("npm-cache-restored");
    try (NpmRegistry npmRegistry = new NpmRegistry(tarball);
        TestRegistry registry = TestRegistry.start(RegistryMode.PLAIN, dir.resolve("registry"))) {
      Processes.Result fill = npmInstall(npm, npmRegistry, newProject(dir.resolve("work/first")), filled, false);
      assertEquals(0, fill.exitCode(), fill.toString());
      assertTrue(npmRegistry.requests() >= 2, "the first install fetched the packument and the tarball");

      RegistryAccess access = RegistryAccess.of(registry, dir.resolve("cachemount-home"));
      Map<String, String> env = Map.of("HOME", dir.resolve("home").toString(), "npm_config_cache", filled.toString());
      pushAndPull(access, env, "npm", restored.resolve("_cacache"));

      int before = npmRegistry.requests();
      Path project = newProject(dir.resolve("work/second"));
      Processes.Result offline = npmInstall(npm, npmRegistry, project, restored, true);
      assertEquals(0, offline.exitCode(), "installed from the restored cache alone: " + offline);
      assertEquals(before, npmRegistry.requests(), "the offline install asked the registry nothing");
      assertEquals(Files.readString(dir.resolve("work/greet-cached/index.js")),
          Files.readString(project.resolve("node_modules/greet-cached/index.js")));

      String verifiedThere = verifiedContent(npm, filled);
      assertEquals(verifiedThere, verifiedContent(npm, restored), "the restored cache holds the same whole content");

      Processes.Result cold = npmInstall(npm, npmRegistry, newProject(dir.resolve("work/cold")), dir.resolve("npm-cache-empty"), true);
      assertNotEquals(0, cold.exitCode(), "the control: an offline install with an empty cache fails: " + cold);
      assertTrue(cold.stderr().contains("ENOTCACHED"), cold.toString());
    }
  }

  /**
   * Pushes the directory that {@code preset} names in {@code toolEnv} (the environment that filled it)
   * to the test registry, and pulls it into {@code target}, which does not exist yet.
   */
  private static void pushAndPull(RegistryAccess access, Map<String, String> toolEnv, String preset, Path target) throws Exception {
    assertTrue(Files.notExists(target), target + " is new");
    Map<String, String> env = new HashMap<>(toolEnv);
    env.putAll(access.env());
    String ref = access.ref("ci/tool-caches");
    Cli.Result push = Cli.run(env, new byte[0], access.args("push", "preset=" + preset + ",ref=" + ref).toArray(String[]::new));
    assertEquals(0, push.exitCode(), push.toString());
    JsonNode pushed = push.json().get(0);
    assertEquals("pushed", pushed.get("result").asText(), push.toString());
    assertTrue(pushed.get("files").asLong() > 0, push.toString());

    Cli.Result pull = access.cli("pull", "id=" + preset + ",ref=" + ref + ",target=" + target);
    assertEquals(0, pull.exitCode(), pull.toString());
    assertEquals("restored", pull.json().get(0).get("result").asText(), pull.toString());
    assertEquals(pushed.get("digest"), pull.json().get(0).get("digest"));
  }

  /** Runs a tool in {@code workingDirectory} with {@code env} added to this process's environment. */
  private static Processes.Result tool(Path workingDirectory, Map<String, String> env, String... command) throws Exception {
    return Processes.run(workingDirectory, Duration.ofMinutes(2), List.of(command), env, new byte[0]);
  }

  /** Go's environment with its caches where the test says and no way off loopback: no VCS, no checksum database, no newer toolchain. */
  private Map<String, String> goEnv(Path gocache, Path gomodcache, String goproxy) {
    Map<String, String> env = new HashMap<>();
    env.put("HOME", dir.resolve("home").toString());
    env.put("GOPATH", dir.resolve("gopath").toString());
    env.put("GOCACHE", gocache.toString());
    env.put("GOMODCACHE", gomodcache.toString());
    env.put("GOPROXY", goproxy);
    env.put("GOFLAGS", "-mod=mod");
    env.put("GOSUMDB", "off");
    env.put("GONOSUMDB", "*");
    env.put("GOPRIVATE", "");
    env.put("GONOPROXY", "");
    env.put("GOVCS", "*:off");
    env.put("GOTOOLCHAIN", "local");
    env.put("GOENV", "off");
    env.put("GOWORK", "off");
    env.put("GO111MODULE", "on");
    env.put("CGO_ENABLED", "0"); // no C compiler needed
    return env;
  }

  /** A main package and a package of its own: {@code hello, CACHE}. */
  private static void writeHelloProgram(Path root) throws IOException {
    write(root.resolve("go.mod"), "module example.com/hello\n\ngo 1.19\n");
    write(root.resolve("main.go"), "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/hello/greeting\"\n)\n\n"
        + "func main() { fmt.Println(greeting.Hello(\"cache\")) }\n");
    write(root.resolve("greeting/greeting.go"), "package greeting\n\nimport \"strings\"\n\n"
        + "// Hello greets name.\nfunc Hello(name string) string { return \"hello, \" + strings.ToUpper(name) }\n");
  }

  /** The compile tool invocations that {@code go build -x} printed. */
  private static List<String> compilations(String buildOutput) {
    List<String> lines = new ArrayList<>();
    Matcher m = GO_COMPILE.matcher(buildOutput);
    while (m.find()) {
      lines.add(m.group());
    }
    return lines;
  }

  /** A {@code file://} GOPROXY that serves {@code example.com/greet v1.0.0}, its zip made here with the module@version prefix Go requires. */
  private static Path writeModuleProxy(Path proxy) throws IOException {
    String goMod = "module example.com/greet\n\ngo 1.19\n";
    Path versions = Files.createDirectories(proxy.resolve("example.com/greet/@v"));
    write(versions.resolve("list"), "v1.0.0\n");
    write(versions.resolve("v1.0.0.info"), "{\"Version\":\"v1.0.0\",\"Time\":\"2024-01-01T00:00:00Z\"}\n");
    write(versions.resolve("v1.0.0.mod"), goMod);
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(versions.resolve("v1.0.0.zip")))) {
      Map<String, String> files = Map.of("go.mod", goMod,
          "greet.go", "package greet\n\n// Hello greets name.\nfunc Hello(name string) string { return \"hello, \" + name }\n");
      for (Map.Entry<String, String> f : files.entrySet()) {
        zip.putNextEntry(new ZipEntry("example.com/greet@v1.0.0/" + f.getKey())); // files only: Go refuses directory entries
        zip.write(f.getValue().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
    }
    return proxy;
  }

  /** A main module that requires {@code example.com/greet v1.0.0}: {@code hello, modules}. */
  private static Path writeConsumerModule(Path root) throws IOException {
    write(root.resolve("go.mod"), "module example.com/consumer\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n");
    write(root.resolve("main.go"), "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/greet\"\n)\n\n"
        + "func main() { fmt.Println(greet.Hello(\"modules\")) }\n");
    return root;
  }

  /** {@code npm pack} of a package {@code greet-cached@1.0.0} written in {@code root}: the tarball. */
  private Path npmPack(String npm, Path root) throws Exception {
    write(root.resolve("package.json"), "{\"name\":\"greet-cached\",\"version\":\"1.0.0\",\"main\":\"index.js\"}\n");
    write(root.resolve("index.js"), "module.exports = (name) => \"hello, \" + name;\n");
    Path packed = Files.createDirectories(dir.resolve("packed"));
    Processes.Result pack = tool(root, npmEnv(), npm, "pack", "--pack-destination", packed.toString());
    assertEquals(0, pack.exitCode(), pack.toString());
    return packed.resolve("greet-cached-1.0.0.tgz");
  }

  /** {@code npm install greet-cached@1.0.0} in {@code project} from the test's registry with {@code cache}, or only from the cache. */
  private Processes.Result npmInstall(String npm, NpmRegistry registry, Path project, Path cache, boolean offline) throws Exception {
    List<String> command = new ArrayList<>(List.of(npm, "install", "greet-cached@1.0.0", "--cache", cache.toString(),
        "--registry", registry.url(), "--no-audit", "--no-fund", "--update-notifier=false"));
    if (offline) {
      command.add("--offline");
    }
    return tool(project, npmEnv(), command.toArray(String[]::new));
  }

  /** What {@code npm cache verify} says of {@code cache}'s content: {@code Content verified: N (B bytes)}, with N at least 1. */
  private String verifiedContent(String npm, Path cache) throws Exception {
    Processes.Result verify = tool(dir, npmEnv(), npm, "cache", "verify", "--cache", cache.toString());
    assertEquals(0, verify.exitCode(), verify.toString());
    Matcher m = NPM_VERIFIED.matcher(verify.out());
    assertTrue(m.find() && Long.parseLong(m.group(1)) > 0, "content verified: " + verify);
    return m.group();
  }

  private Map<String, String> npmEnv() {
    return Map.of("HOME", dir.resolve("home").toString());
  }

  private static Path newProject(Path root) throws IOException {
    write(root.resolve("package.json"), "{\"name\":\"" + root.getFileName() + "\",\"version\":\"1.0.0\",\"private\":true}\n");
    return root;
  }

  private static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }

  private static void deleteTree(Path root) throws Exception {
    assertEquals(0, Processes.run(List.of("rm", "-rf", root.toString())).exitCode());
  }

  private static void makeWritable(Path root) throws Exception {
    if (Files.exists(root)) {
      assertEquals(0, Processes.run(List.of("chmod", "-R", "u+w", root.toString())).exitCode());
    }
  }

  /**
   * A registry of one npm package on loopback: its packument at {@code /greet-cached} and its tarball,
   * with the tarball's sha512 integrity, counting the requests it answers.
   */
  private static final class NpmRegistry implements AutoCloseable {
    private final HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();

    NpmRegistry(Path tarball) throws Exception {
      byte[] tgz = Files.readAllBytes(tarball);
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      String tarballPath = "/greet-cached/-/greet-cached-1.0.0.tgz";
      String integrity = "sha512-" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-512").digest(tgz));
      String shasum = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(tgz));
      byte[] packument = ("{\"name\":\"greet-cached\",\"dist-tags\":{\"latest\":\"1.0.0\"},\"versions\":{\"1.0.0\":{"
          + "\"name\":\"greet-cached\",\"version\":\"1.0.0\",\"main\":\"index.js\",\"dist\":{\"tarball\":\"" + url() + tarballPath.substring(1)
          + "\",\"integrity\":\"" + integrity + "\",\"shasum\":\"" + shasum + "\"}}}}").getBytes(StandardCharsets.UTF_8);
      server.createContext("/", exchange -> {
        requests.incrementAndGet();
        String path = exchange.getRequestURI().getPath();
        byte[] body = path.equals("/greet-cached") ? packument : path.equals(tarballPath) ? tgz : null;
        exchange.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          if (body != null) {
            out.write(body);
          }
        }
      });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    int requests() {
      return requests.get();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
