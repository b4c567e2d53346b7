package dev.moeadapter.core.nativeaccess;

import dev.moeadapter.core.EngineException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NativeLibrariesTest {
    @AfterEach
    void clearOverride() {
        System.clearProperty(NativeLibraries.DIR_PROPERTY);
    }

    @Test
    void packagedLibrariesAreFoundWithTheirManifest() {
        Path dir = NativeLibraries.locate();
        assertThat(dir.resolve(NativeLibraries.SHIM)).isRegularFile();
        assertThat(dir.resolve("natives.txt")).isRegularFile();
        assertThat(dir.resolve(NativeLibraries.CHECKER)).isExecutable();
    }

    @Test
    void overrideDirectoryIsUsedAndChecked(@TempDir Path empty) throws Exception {
        System.setProperty(NativeLibraries.DIR_PROPERTY, empty.toString());
        assertThatThrownBy(NativeLibraries::locate).isInstanceOf(EngineException.class).hasMessageContaining("has no libmoeshim.so");
        Files.writeString(empty.resolve(NativeLibraries.SHIM), "");
        assertThat(NativeLibraries.locate()).isEqualTo(empty.toAbsolutePath());
    }

    @Test
    void platformNamesAreNormalised() {
        assertThat(NativeLibraries.platform()).matches("[a-z]+-[a-z0-9_]+");
    }
}
