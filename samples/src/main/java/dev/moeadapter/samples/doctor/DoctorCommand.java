package dev.moeadapter.samples.doctor;

import dev.moeadapter.c3po.C3poStrategy;
import dev.moeadapter.core.adaptation.ModelRequirements;
import dev.moeadapter.core.adaptation.PlainGeneration;
import dev.moeadapter.core.doctor.Doctor;
import dev.moeadapter.rerouting.ReroutingSettings;
import dev.moeadapter.scmoe.ScmoeStrategy;

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
    public static final List<ModelRequirements> METHODS = List.of(new PlainGeneration().requirements(), ScmoeStrategy.REQUIREMENTS,
            ReroutingSettings.DEFAULTS.requirements(), ReroutingSettings.DEFAULTS.withWindow(64).requirements(), C3poStrategy.REQUIREMENTS);

    private DoctorCommand() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: ./moe doctor --model F.gguf");
            System.exit(2);
        }
        System.exit(Doctor.print(Doctor.examine(Path.of(args[0]), METHODS)) ? 0 : 1);
    }
}
