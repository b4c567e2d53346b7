package dev.moeadapter.samples.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A self-contained HTML page (inline SVG, no scripts) for an {@link EvalReport}. */
public final class HtmlReport {
    private HtmlReport() {}

    static String render(EvalReport r) {
        return """
                <!doctype html><html><head><meta charset="utf-8"><title>MoE Adapter evaluation</title>
                <style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
                td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}h2{margin-top:1.5em}</style></head><body>
                """
                + "<h1>Evaluation: " + esc(r.policy()) + "</h1>"
                + "<p>model <code>" + esc(r.model()) + "</code>, benchmark <code>" + esc(r.benchmark()) + "</code></p>"
                + "<table><tr><th>accuracy [95% CI]</th><th>items</th><th>s/item</th><th>tokens/s</th><th>routing shift</th></tr>"
                + String.format(Locale.ROOT, "<tr><td>%.1f%% [%.1f, %.1f]</td><td>%d</td><td>%.3f</td><td>%.1f</td><td>%s</td></tr></table>",
                100 * r.accuracy().value(), 100 * r.accuracy().low(), 100 * r.accuracy().high(), r.accuracy().n(),
                r.secondsPerItem(), r.tokensPerSecond(),
                Double.isNaN(r.meanRoutingShift()) ? "n/a" : String.format(Locale.ROOT, "%.4f", r.meanRoutingShift()))
                + "<h2>Accuracy per task</h2>" + taskBars(r.perTask())
                + "<h2>Expert usage (share of selections per layer)</h2>" + heatmap(r.expertUsage().total())
                + perTaskUsage(r.expertUsage())
                + "</body></html>\n";
    }

    private static String taskBars(Map<String, Proportion> perTask) {
        int rowH = 26, labelW = 200, barW = 400, h = rowH * perTask.size() + 30;
        StringBuilder s = new StringBuilder("<svg xmlns='http://www.w3.org/2000/svg' width='" + (labelW + barW + 160) + "' height='" + h + "'>");
        int y = 10;
        for (var e : perTask.entrySet()) {
            Proportion p = e.getValue();
            double v = Double.isNaN(p.value()) ? 0 : p.value();
            s.append(String.format(Locale.ROOT, "<text x='0' y='%d' font-size='13'>%s</text>", y + 16, esc(e.getKey())));
            s.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%.1f' height='18' fill='#4a7ab7'/>", labelW, y + 2, v * barW));
            s.append(String.format(Locale.ROOT, "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#000'/>",
                    labelW + p.low() * barW, labelW + p.high() * barW, y + 11, y + 11));
            s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='12'>%.1f%% (n=%d)</text>", labelW + barW + 8, y + 16, 100 * v, p.n()));
            y += rowH;
        }
        s.append(String.format(Locale.ROOT, "<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='#888'/>", labelW, labelW + barW, y + 4, y + 4));
        return s.append("</svg>").toString();
    }

    private static String perTaskUsage(ExpertUsage u) {
        if (u.byTask().size() < 2) {
            return "";
        }
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "<h2>Expert usage per task</h2><p>Concentration = share of the task's selections on its top-%d experts "
                        + "(%.2f if routing ignored the task).</p>", u.topK(), u.uniformConcentration()));
        u.byTask().forEach((task, usage) -> {
            s.append("<h3>").append(esc(task)).append(" — concentration per layer");
            for (double c : u.concentration().get(task)) {
                s.append(Double.isNaN(c) ? " -" : String.format(Locale.ROOT, " %.2f", c));
            }
            s.append("</h3>").append(heatmap(usage));
        });
        return s.toString();
    }

    private static String heatmap(long[][] usage) {
        List<Integer> layers = new ArrayList<>();
        for (int l = 0; l < usage.length; l++) {
            long sum = 0;
            for (long c : usage[l]) {
                sum += c;
            }
            if (sum > 0) {
                layers.add(l);
            }
        }
        if (layers.isEmpty()) {
            return "<p>no router traces (dense model)</p>";
        }
        int experts = usage[0].length, cell = Math.max(8, Math.min(24, 640 / experts)), left = 70, top = 20;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d'>",
                left + experts * cell + 20, top + layers.size() * cell + 30));
        for (int row = 0; row < layers.size(); row++) {
            int l = layers.get(row);
            long sum = 0, max = 1;
            for (long c : usage[l]) {
                sum += c;
                max = Math.max(max, c);
            }
            s.append(String.format(Locale.ROOT, "<text x='0' y='%d' font-size='12'>layer %d</text>", top + row * cell + cell - 3, l));
            for (int e = 0; e < experts; e++) {
                double share = (double) usage[l][e] / sum;
                double heat = (double) usage[l][e] / max;
                int shade = (int) Math.round(255 * (1 - heat));
                s.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' fill='rgb(%d,%d,255)'><title>layer %d expert %d: %.1f%%</title></rect>",
                        left + e * cell, top + row * cell, cell - 1, cell - 1, shade, shade, l, e, 100 * share));
            }
        }
        s.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='12'>experts 0..%d</text>", left, top + layers.size() * cell + 18, experts - 1));
        return s.append("</svg>").toString();
    }

    public static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;");
    }
}
