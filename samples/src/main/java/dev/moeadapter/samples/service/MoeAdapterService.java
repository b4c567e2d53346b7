package dev.moeadapter.samples.service;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

import java.util.Arrays;

/**
 * The runnable service: the starter's endpoints over the model named by {@code moe.adapter.model}
 * ({@code ./moe serve --model FILE.gguf}, or the environment variable MOE_ADAPTER_MODEL).
 */
@SpringBootApplication
public class MoeAdapterService {
    public static void main(String[] args) {
        boolean named = Arrays.stream(args).anyMatch(a -> a.startsWith("--moe.adapter.model="))
                || System.getenv("MOE_ADAPTER_MODEL") != null || System.getProperty("moe.adapter.model") != null;
        if (!named) {
            System.err.println("no model to serve: pass --model FILE.gguf to ./moe serve (or set MOE_ADAPTER_MODEL)");
            System.exit(2);
        }
        SpringApplication.run(MoeAdapterService.class, args);
    }
}
