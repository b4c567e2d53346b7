package dev.moeadapter.samples.cli;

import dev.moeadapter.core.InvalidRequestException;
import dev.moeadapter.core.ModelLoadException;
import tools.jackson.core.JacksonException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;

/**
 * How a {@code ./moe} command ends on its user's mistake: one line naming the command and what was
 * wrong, then its usage where the arguments were at fault; exit status 2 for arguments, 1 for a file
 * or model that cannot be read. A stack trace is left only for what is not the user's doing.
 */
public final class Cli {
    /** A command's work. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    private Cli() {
    }

    public static void run(String command, String usage, Body body) throws Exception {
        int status = status(command, usage, body, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** Runs {@code body}: 0 when it ends, 2 or 1 (said on {@code err}) on its user's mistake. */
    static int status(String command, String usage, Body body, PrintStream err) throws Exception {
        try {
            body.run();
            return 0;
        } catch (InvalidRequestException | IllegalArgumentException e) {
            err.println(command + ": " + (e instanceof NumberFormatException ? "a number was expected: " : "") + e.getMessage());
            if (usage != null) {
                err.print(usage.endsWith("\n") ? usage : usage + "\n");
            }
            return 2;
        } catch (ModelLoadException | IOException | UncheckedIOException | JacksonException e) {
            err.println(command + ": " + e.getMessage());
            return 1;
        }
    }
}
