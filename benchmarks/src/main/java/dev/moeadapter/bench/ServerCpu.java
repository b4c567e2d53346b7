package dev.moeadapter.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU seconds a server process has used, read from Linux's {@code /proc}: all of it, and that of its JIT
 * compiler threads (a JVM compiles its hot code during its first loads, on the same processors the
 * decode needs; llama-server has none). Clock ticks are taken at Linux's fixed 100 per second.
 */
record ServerCpu(double all, double jit) {
    private static final double TICKS_PER_SECOND = 100;

    /** The process's figures, or null where {@code /proc} does not have it. */
    static ServerCpu of(long pid) {
        Path proc = Path.of("/proc", Long.toString(pid));
        try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
            double jit = tasks.filter(t -> comm(t).matches("C[12] CompilerThre.*")).mapToLong(ServerCpu::threadTicks).sum();
            return new ServerCpu(ticks(proc) / TICKS_PER_SECOND, jit / TICKS_PER_SECOND);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    ServerCpu minus(ServerCpu before) {
        return new ServerCpu(all - before.all, jit - before.jit);
    }

    private static String comm(Path task) {
        try {
            return Files.readString(task.resolve("comm")).strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** utime + stime of a process (its threads, the exited ones included) or of one thread. */
    private static long ticks(Path dir) throws IOException {
        String stat = Files.readString(dir.resolve("stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static long threadTicks(Path task) {
        try {
            return ticks(task);
        } catch (IOException e) {
            return 0; // a thread that ended meanwhile
        }
    }
}
