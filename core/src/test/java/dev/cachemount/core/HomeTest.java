package dev.cachemount.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code ~} is where the environment's HOME says, as a shell would expand it. */
class HomeTest {
  @Test
  void tildeIsTheEnvironmentsHome() {
    Cachemount client = Cachemount.builder().env(Map.of("HOME", "/github/home")).build();
    assertEquals(Path.of("/github/home/.m2/repository"), client.parseSpec("id=m2,target=~/.m2/repository").target().orElseThrow());
  }

  @Test
  void withoutAnAbsoluteHomeItIsTheAccountsHome() {
    for (Map<String, String> env : java.util.List.of(Map.<String, String>of(), Map.of("HOME", ""), Map.of("HOME", "relative"))) {
      Cachemount client = Cachemount.builder().env(env).build();
      assertEquals(Path.of(System.getProperty("user.home"), "x"), client.parseSpec("id=m2,target=~/x").target().orElseThrow(), env.toString());
    }
  }
}
