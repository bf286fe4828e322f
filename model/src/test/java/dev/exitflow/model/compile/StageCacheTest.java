package dev.exitflow.model.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.exitflow.model.ModelDescriptor;
import dev.exitflow.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StageCacheTest {
  @TempDir Path cacheDir;

  @Test
  void compilesOncePerModelAndPlan() throws Exception {
    ModelDescriptor model = TestModels.builtin("all-minilm-l6-v2-q");
    StageCache cache = new StageCache(cacheDir);

    CompiledModel first = cache.load(model);
    FileTime written = Files.getLastModifiedTime(first.stageFile(first.stages().get(0)));
    CompiledModel again = cache.load(model);
    assertEquals(first.directory(), again.directory());
    assertEquals(first.stages(), again.stages());
    assertEquals(written, Files.getLastModifiedTime(again.stageFile(again.stages().get(0))), "recompiled");

    CompiledModel otherPlan = cache.load(model.withExitLayers(List.of(3, 6)));
    assertNotEquals(first.directory(), otherPlan.directory());
    assertEquals(2, otherPlan.stages().size());
    try (var entries = Files.list(cacheDir.resolve("stages"))) {
      assertEquals(2, entries.count(), "no temporary directories left behind");
    }
  }
}
