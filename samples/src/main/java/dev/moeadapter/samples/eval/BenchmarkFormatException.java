package dev.moeadapter.samples.eval;

import dev.moeadapter.core.InvalidRequestException;

/** A benchmark file line that cannot be used; the message names the file and line. */
public class BenchmarkFormatException extends InvalidRequestException {
    public BenchmarkFormatException(String file, int line, String problem) {
        super(file + ":" + line + ": " + problem);
    }
}
