package dev.moeadapter.samples.experts;

import dev.moeadapter.steering.SteeringFile;
import dev.moeadapter.samples.eval.HtmlReport;

import java.util.List;
import java.util.Locale;

/** The profile as one self-contained HTML page: a heatmap of the risk difference per layer and expert, and the steering chosen. */
final class ProfileHtml {
    private ProfileHtml() {
    }

    static String render(ExpertProfile p, String nameA, String nameB, List<SteeringFile.Entry> steering) {
        double max = 1e-9;
        for (int slot = 0; slot < p.layers().size(); slot++) {
            for (int e = 0; e < p.experts(); e++) {
                max = Math.max(max, Math.abs(p.riskDifference(slot, e)));
            }
        }
        StringBuilder s = new StringBuilder("<!doctype html><html><head><meta charset='utf-8'><title>Expert profile</title><style>"
                + "body{font-family:sans-serif}table{border-collapse:collapse}td,th{font-size:11px;padding:0}"
                + "td.cell{width:22px;height:22px;border:1px solid #fff}th{padding:0 6px;text-align:right}</style></head><body>");
        s.append("<h1>Expert profile</h1><p>A: ").append(HtmlReport.esc(nameA)).append(" (").append(p.tokensA()[0]).append(" tokens); B: ")
                .append(HtmlReport.esc(nameB)).append(" (").append(p.tokensB()[0]).append(" tokens). Cell colour: risk difference rate A − rate B "
                        + "(red: A's experts, blue: B's; full colour at ")
                .append(String.format(Locale.ROOT, "%.3f", max)).append("). Hover a cell for the rates and nPMI.</p>");
        s.append("<table id='heatmap'><tr><th></th>");
        for (int e = 0; e < p.experts(); e++) {
            s.append("<th>").append(e).append("</th>");
        }
        s.append("</tr>");
        for (int slot = 0; slot < p.layers().size(); slot++) {
            int layer = p.layers().get(slot);
            s.append("<tr><th>layer ").append(layer).append("</th>");
            for (int e = 0; e < p.experts(); e++) {
                double d = p.riskDifference(slot, e), heat = Math.min(1, Math.abs(d) / max);
                int fade = (int) Math.round(255 * (1 - heat));
                String colour = d >= 0 ? "rgb(255," + fade + "," + fade + ")" : "rgb(" + fade + "," + fade + ",255)";
                s.append(String.format(Locale.ROOT, "<td class='cell' data-layer='%d' data-expert='%d' data-rd='%.6f' style='background:%s' "
                                + "title='layer %d expert %d: A %.3f, B %.3f, RD %+.3f, nPMI %.3f'></td>", layer, e, d, colour, layer, e,
                        p.rateA(slot, e), p.rateB(slot, e), d, p.npmi(slot, e)));
            }
            s.append("</tr>");
        }
        s.append("</table><h2>Steering toward A</h2><table id='steering'><tr><th>layer</th><th>expert</th><th>action</th><th>strength</th></tr>");
        for (SteeringFile.Entry e : steering) {
            s.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%d</td><td>%s</td><td>%.3f</td></tr>", e.layer(), e.expert(),
                    e.action().label(), e.strength()));
        }
        return s.append("</table></body></html>\n").toString();
    }
}
