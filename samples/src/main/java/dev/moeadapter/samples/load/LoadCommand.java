package dev.moeadapter.samples.load;

import dev.moeadapter.c3po.HiddenStateEmbedder;
import dev.moeadapter.c3po.ReferenceSetBuilder;
import dev.moeadapter.core.engine.Model;
import dev.moeadapter.core.engine.ModelParams;
import dev.moeadapter.core.engine.Session;
import dev.moeadapter.core.engine.SessionParams;
import dev.moeadapter.samples.cli.Cli;
import dev.moeadapter.samples.eval.BenchmarkFile;
import dev.moeadapter.samples.eval.BenchmarkItem;
import dev.moeadapter.samples.eval.C3poBuildCommand;
import dev.moeadapter.samples.eval.EvalCommand;
import dev.moeadapter.samples.service.MoeAdapterService;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * {@code ./moe load [--clients 8] [--requests 3000] [--max-tokens 8] [--rss-from 500] [--references 200]
 * [--acquire-timeout 30s] [--tasks samples/lab/v2/tasks/ref.jsonl]}: starts the service on the
 * embedded lab model on a loopback port, with one policy whose arms are every adaptation (C3PO with
 * a reference set built first from the first {@code references} tasks; a short
 * {@code acquire-timeout} makes admission refuse), and runs a {@link LoadRun} against it; the server
 * and its clients share this process, whose resident memory is what is measured. With
 * {@code --url http://127.0.0.1:PORT --model-id ID [--pid N] [--arms none,scmoe]} it targets a
 * running service instead (its memory only where {@code --pid} names its process). Prints the
 * report and exits 1 if the run broke a promise ({@link LoadReport#failures()}).
 */
public final class LoadCommand {
    static final List<String> EVERY_ARM = List.of("none", "scmoe", "rerouting", "c3po", "steer");

    /** The load's steer arm promotes this expert (layer:expert) of the embedded lab model. */
    private static final String STEERED = "0:1";

    private LoadCommand() {}

    public static void main(String[] args) throws Exception {
        Cli.run("load", null, () -> {
            Map<String, String> a = EvalCommand.parse(args);
            int clients = Integer.parseInt(a.getOrDefault("clients", "8"));
            int requests = Integer.parseInt(a.getOrDefault("requests", "3000"));
            int maxTokens = Integer.parseInt(a.getOrDefault("max-tokens", "8"));
            int rssFrom = Integer.parseInt(a.getOrDefault("rss-from", String.valueOf(Math.min(500, requests / 2))));
            List<BenchmarkItem> tasks = BenchmarkFile.read(Path.of(a.getOrDefault("tasks", "samples/lab/v2/tasks/ref.jsonl")));
            List<String> prompts = tasks.stream().map(BenchmarkItem::prompt).toList();
            LoadReport report;
            if (a.containsKey("url")) {
                long pid = Long.parseLong(a.getOrDefault("pid", "-1"));
                List<String> arms = a.containsKey("arms") ? List.of(a.get("arms").split(",")) : EVERY_ARM;
                report = new LoadRun(URI.create(a.get("url")), EvalCommand.require(a, "model-id"), arms, prompts, clients, requests, maxTokens,
                        rssFrom, () -> pid > 0 ? residentKib(Path.of("/proc", String.valueOf(pid), "status")) : -1).run();
            } else {
                int references = Integer.parseInt(a.getOrDefault("references", "200"));
                report = inProcess(tasks.subList(0, Math.min(tasks.size(), references)), a.getOrDefault("acquire-timeout", "30s"), prompts,
                        clients, requests, maxTokens, rssFrom);
            }
            System.out.println(report.summary());
            report.failures().forEach(f -> System.out.println("FAILED: " + f));
            System.exit(report.failures().isEmpty() ? 0 : 1);
        });
    }

    private static LoadReport inProcess(List<BenchmarkItem> references, String acquireTimeout, List<String> prompts, int clients,
                                        int requests, int maxTokens, int rssFrom) throws Exception {
        Path model = MoeAdapterService.embeddedModel();
        Path referenceSet = Files.createTempFile("moe-load-", ".c3po");
        try {
            buildReferenceSet(model, references, referenceSet);
            List<String> properties = new ArrayList<>(List.of("moe.adapter.model=" + model, "server.address=127.0.0.1", "server.port=0",
                    "moe.adapter.threads=1", "moe.adapter.acquire-timeout=" + acquireTimeout,
                    "moe.adapter.c3po.reference-set=" + referenceSet, "moe.adapter.default-policy=load",
                    "moe.adapter.policies.load.allow-override=true"));
            EVERY_ARM.forEach(arm -> properties.add("moe.adapter.policies.load.arms." + arm + ".adaptation=" + arm));
            // steering that edits something: an expert promoted on the first MoE layer, and a dynamic expert count
            properties.add("moe.adapter.policies.load.arms.steer.settings.promote=" + STEERED);
            properties.add("moe.adapter.policies.load.arms.steer.settings.top-p=0.8");
            // as command-line arguments: they take precedence over the service's application.properties (port 8080)
            try (ConfigurableApplicationContext ctx = new SpringApplicationBuilder(MoeAdapterService.class)
                    .run(properties.stream().map(p -> "--" + p).toArray(String[]::new))) {
                int port = ((WebServerApplicationContext) ctx).getWebServer().getPort();
                String modelId = model.getFileName().toString().replace(".gguf", "");
                LongSupplier self = () -> residentKib(Path.of("/proc/self/status"));
                return new LoadRun(URI.create("http://127.0.0.1:" + port), modelId, EVERY_ARM, prompts, clients, requests, maxTokens,
                        rssFrom, self).run();
            }
        } finally {
            Files.deleteIfExists(referenceSet);
        }
    }

    /** A C3PO reference set of the tasks the model answers correctly, as {@code ./moe c3po-build} writes it. */
    private static void buildReferenceSet(Path modelFile, List<BenchmarkItem> items, Path out) {
        try (Model model = Model.load(ModelParams.of(modelFile));
             Session session = model.newSession(new SessionParams(2048, 512, 1, 1, 1))) {
            ReferenceSetBuilder.Outcome o = C3poBuildCommand.build(model, session, new HiddenStateEmbedder(), items, 32, 16, 50, out);
            System.out.printf("reference set: %d of %d tasks answered correctly%n", o.kept(), o.examined());
        }
    }

    /** VmRSS of a {@code /proc/PID/status} file in KiB, or -1 where it cannot be read. */
    private static long residentKib(Path status) {
        try {
            return Files.readAllLines(status).stream().filter(l -> l.startsWith("VmRSS:"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(-1);
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }
}
