package io.fjord.bench;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The PNG charts of a {@code bench/compare.sh} run, from its {@code results.tsv}: {@code
 * throughput.png} (MiB/s of every produce and consume workload, Kafka's and Fjord's bars side by
 * side) and {@code latency.png} (end-to-end latency p50, p99 and p99.9 per partition count). Bars
 * are medians over the rounds; a figure no round produced is drawn as 0.
 *
 * <pre>
 *  Charts RESULTS_TSV OUT_DIR
 * </pre>
 */
public final class Charts {
    private static final Color KAFKA_COLOR = new Color(0x4E, 0x79, 0xA7);
    private static final Color FJORD_COLOR = new Color(0xF2, 0x8E, 0x2B);

    private Charts() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: Charts RESULTS_TSV OUT_DIR");
            System.exit(2);
        }
        CompareResults r = CompareResults.read(Path.of(args[0]));
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        String rounds = r.rounds() == 1 ? "1 round" : "median of " + r.rounds() + " rounds";

        List<String> tputTests = new ArrayList<>();
        for (String t : CompareReport.TEST_ORDER) {
            if ((t.startsWith("produce-") || t.startsWith("consume-"))
                    && r.tests().contains(t)) {
                tputTests.add(t);
            }
        }
        CategoryChart tput = chart("Throughput, 1 KiB records (" + rounds + "; higher is better)", "MiB/s", "#,##0");
        List<String> tputLabels =
                tputTests.stream().map(CompareReport::shortLabel).toList();
        addSeries(tput, r, tputLabels, tputTests, "mbs");
        write(tput, out.resolve("throughput.png"));

        List<String> latLabels = new ArrayList<>();
        List<String[]> latKeys = new ArrayList<>(); // {test, metric}
        for (String t : CompareReport.TEST_ORDER) {
            if (t.startsWith("e2e-") && r.tests().contains(t)) {
                String parts = t.split("-")[1];
                for (String[] m : new String[][] {{"p50_ms", "p50"}, {"p99_ms", "p99"}, {"p999_ms", "p99.9"}}) {
                    latLabels.add(parts + " " + m[1]);
                    latKeys.add(new String[] {t, m[0]});
                }
            }
        }
        CategoryChart lat =
                chart("End-to-end latency, 1 KiB, acks=1 (" + rounds + "; lower is better)", "ms", "#,##0.##");
        for (String broker : List.of(CompareResults.KAFKA, CompareResults.FJORD)) {
            List<Double> y = latKeys.stream()
                    .map(k -> r.medianOrZero(k[0], k[1], broker))
                    .toList();
            if (!latLabels.isEmpty()) {
                lat.addSeries(seriesName(broker), latLabels, y);
            }
        }
        write(lat, out.resolve("latency.png"));
        System.err.println("charts: " + out.resolve("throughput.png") + ", " + out.resolve("latency.png"));
    }

    private static void addSeries(
            CategoryChart chart, CompareResults r, List<String> labels, List<String> tests, String metric) {
        if (labels.isEmpty()) {
            return;
        }
        for (String broker : List.of(CompareResults.KAFKA, CompareResults.FJORD)) {
            List<Double> y =
                    tests.stream().map(t -> r.medianOrZero(t, metric, broker)).toList();
            chart.addSeries(seriesName(broker), labels, y);
        }
    }

    private static String seriesName(String broker) {
        return broker.equals(CompareResults.KAFKA) ? "Kafka 4.1.1" : "Fjord";
    }

    private static CategoryChart chart(String title, String yTitle, String decimalPattern) {
        CategoryChart c = new CategoryChartBuilder()
                .width(1100)
                .height(560)
                .title(title)
                .yAxisTitle(yTitle)
                .build();
        c.getStyler()
                .setSeriesColors(new Color[] {KAFKA_COLOR, FJORD_COLOR})
                .setLegendPosition(Styler.LegendPosition.InsideNW)
                .setChartBackgroundColor(Color.WHITE)
                .setDecimalPattern(decimalPattern);
        c.getStyler().setLabelsVisible(true).setLabelsRotation(90);
        c.getStyler().setXAxisLabelRotation(20);
        c.getStyler().setPlotGridVerticalLinesVisible(false);
        return c;
    }

    private static void write(CategoryChart chart, Path file) throws IOException {
        try (OutputStream os = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
