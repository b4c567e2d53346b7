package dev.moeadapter.spring.web;

import dev.moeadapter.serving.experiment.ExperimentReport;
import dev.moeadapter.serving.experiment.Interval;

import java.util.Locale;

/** The A/B report as one self-contained HTML page: two tables and the decision rule, no scripts. */
final class ReportPage {
    private ReportPage() {
    }

    static String html(ExperimentReport r) {
        ExperimentReport.Method m = r.method();
        StringBuilder h = new StringBuilder("""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><title>A/B report: %1$s</title>
                <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}
                td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f4f4f4}td.t{text-align:left}
                .arm_higher{background:#dfd}.arm_lower{background:#fdd}</style></head><body>
                <h1>Policy <code>%1$s</code></h1>
                """.formatted(esc(r.policy())));
        h.append("<h2>Arms</h2><table id=\"arms\"><tr><th>arm</th><th>adaptation</th><th>answered by</th><th>answers</th>")
                .append("<th>verdicts</th><th>correct rate (95% Wilson)</th><th>scores</th><th>mean score (95%)</th></tr>\n");
        for (ExperimentReport.ArmReport a : r.arms()) {
            if (a.groups().isEmpty()) {
                h.append(row(a.arm(), a.adaptation(), "", "0", "0", "", "0", ""));
            }
            for (ExperimentReport.Group g : a.groups()) {
                h.append(row(a.arm() + (a.arm().equals(r.control()) ? " (control)" : ""), a.adaptation(),
                        g.answeredBy() + (g.fallback() ? " (fallback)" : ""), Long.toString(g.answers()),
                        Long.toString(g.correct().n()), estimate(g.correct().rate(), g.correct().ci95()),
                        Long.toString(g.score().n()), estimate(g.score().mean(), g.score().ci95())));
            }
        }
        h.append("</table>\n<h2>Against the control</h2>\n");
        if (r.control() == null) {
            h.append("<p>This policy has no plain arm (adaptation <code>none</code>) to compare with.</p>\n");
        } else {
            h.append("<table id=\"comparisons\"><tr><th>arm</th><th>metric</th><th>n control</th><th>n arm</th><th>difference</th>")
                    .append("<th>always-valid interval</th><th>p-value</th><th>decision</th></tr>\n");
            for (ExperimentReport.Comparison c : r.comparisons()) {
                h.append("<tr class=\"").append(c.decision()).append("\">").append(cell(c.arm())).append(cell(c.metric()))
                        .append(cell(Long.toString(c.controlN()))).append(cell(Long.toString(c.armN())))
                        .append(cell(number(c.difference()))).append(cell(interval(c.sequence())))
                        .append(cell(number(c.pValue()))).append(cell(c.decision())).append("</tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<p>").append(esc(m.test())).append(", α = ").append(number(m.alpha())).append(" for the report (")
                .append(number(m.alphaPerComparison())).append(" per comparison), τ = ").append(number(m.mixtureSd()))
                .append(", at least ").append(m.minPerArm()).append(" outcomes a side before any decision. ")
                .append("A decision (arm_higher, arm_lower) may be acted on whenever it shows: the page can be reloaded at any time. ")
                .append("Per-arm intervals: ").append(esc(m.intervals())).append(". Fallback answers count for plain generation, ")
                .append("not for the arm's adaptation.</p>\n</body></html>\n");
        return h.toString();
    }

    private static String row(String... cells) {
        StringBuilder b = new StringBuilder("<tr>");
        for (int i = 0; i < cells.length; i++) {
            b.append(i < 3 ? "<td class=\"t\">" : "<td>").append(esc(cells[i])).append("</td>");
        }
        return b.append("</tr>\n").toString();
    }

    private static String cell(String text) {
        return "<td>" + esc(text) + "</td>";
    }

    private static String estimate(Double value, Interval ci) {
        return value == null ? "" : number(value) + (ci == null ? "" : " " + interval(ci));
    }

    private static String interval(Interval i) {
        return i == null ? "" : "[" + number(i.low()) + ", " + number(i.high()) + "]";
    }

    private static String number(Double x) {
        return x == null ? "" : String.format(Locale.ROOT, "%.3f", x);
    }

    private static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
