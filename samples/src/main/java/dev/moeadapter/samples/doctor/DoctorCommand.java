package dev.moeadapter.samples.doctor;

import dev.moeadapter.core.adaptation.AdaptationProvider;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.StrategySettings;
import dev.moeadapter.core.doctor.Doctor;
import dev.moeadapter.samples.cli.Cli;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code ./moe doctor --model F.gguf}: the engine's checks on a user's model ({@link Doctor}) and,
 * from the requirements the service checks its arms against, which of this project's methods run
 * on it. Exits 1 if a check failed (a refused method is not a failure).
 */
public final class DoctorCommand {
    /**
     * Every method, at its default settings, plus each setting that changes what a method needs of
     * a model (rerouting's loss window). The README's methods table is held to these.
     */
    /**
     * What each adaptation on the class path needs with its default settings (the plug-ins' own
     * statement), plain generation first, and rerouting with a loss window besides.
     */
    public static final List<ModelRequirements> METHODS = methods();

    private static List<ModelRequirements> methods() {
        List<ModelRequirements> all = new java.util.ArrayList<>();
        List<AdaptationProvider> providers = AdaptationProvider.all().stream()
                .sorted(java.util.Comparator.comparing((AdaptationProvider p) -> !p.name().equals("none")).thenComparing(AdaptationProvider::name)).toList();
        for (AdaptationProvider p : providers) {
            all.add(p.requirements(StrategySettings.NONE).model());
            if (p.name().equals("rerouting")) {
                all.add(p.requirements(StrategySettings.of(java.util.Map.of("window", 64))).model());
            }
        }
        return List.copyOf(all);
    }

    private DoctorCommand() {}

    public static void main(String[] args) throws Exception {
        Cli.run("doctor", null, () -> {
            if (args.length != 1) {
                System.err.println("usage: ./moe doctor --model F.gguf");
                System.exit(2);
            }
            System.exit(Doctor.print(Doctor.examine(Path.of(args[0]), METHODS)) ? 0 : 1);
        });
    }
}
