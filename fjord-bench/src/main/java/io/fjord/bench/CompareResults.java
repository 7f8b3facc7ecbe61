package io.fjord.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The figures of one {@code bench/compare.sh} run, read from its {@code results.tsv}: one row per
 * round, broker and figure ({@code round broker slot test metric value}, tab-separated, with a
 * header line). Values that are not numbers (a test that failed writes none) are skipped.
 */
final class CompareResults {
    static final String KAFKA = "kafka";
    static final String FJORD = "fjord";

    /**
     * Seconds per GiB the harness took to write and delete its prewarm file before a produce test
     * ({@code prewarm_pages} in bench/lib.sh): the memory's state the test met, not a broker
     * figure, so the tables give it no Fjord/Kafka ratio.
     */
    static final String TOUCH = "touch_s_per_gib";

    /** The tables' note on the figures without the JIT compiler threads. */
    static final String NOJIT_NOTE = " \"Without the JIT compiler\" leaves out the CPU of the JVMs' C1 and C2"
            + " compiler threads, which young JVMs spend compiling their hot paths and a long-running broker does not.";

    /** Median, min and max of one figure over the rounds that produced it. */
    record Stats(double median, double min, double max, int n) {
        static Stats of(List<Double> values) {
            if (values.isEmpty()) {
                return null;
            }
            double[] v =
                    values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int mid = v.length / 2;
            double median = v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
            return new Stats(median, v[0], v[v.length - 1], v.length);
        }
    }

    /** test -> metric -> broker -> values in round order. */
    private final Map<String, Map<String, Map<String, List<Double>>>> values = new LinkedHashMap<>();

    private final Set<Integer> rounds = new LinkedHashSet<>();

    static CompareResults read(Path tsv) throws IOException {
        CompareResults r = new CompareResults();
        List<String> lines = Files.readAllLines(tsv);
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t", -1);
            if (f.length < 6) {
                continue;
            }
            double value;
            try {
                value = Double.parseDouble(f[5]);
            } catch (NumberFormatException e) {
                continue;
            }
            r.rounds.add(Integer.parseInt(f[0]));
            r.values
                    .computeIfAbsent(f[3], k -> new LinkedHashMap<>())
                    .computeIfAbsent(f[4], k -> new LinkedHashMap<>())
                    .computeIfAbsent(f[1], k -> new ArrayList<>())
                    .add(value);
        }
        return r;
    }

    int rounds() {
        return rounds.size();
    }

    Set<String> tests() {
        return values.keySet();
    }

    /** Stats of one figure for one broker, or null when no round produced it. */
    Stats stats(String test, String metric, String broker) {
        List<Double> v = values.getOrDefault(test, Map.of())
                .getOrDefault(metric, Map.of())
                .getOrDefault(broker, List.of());
        return Stats.of(v);
    }

    /** The median, or 0 when there is none (for charts, which need a number per category). */
    double medianOrZero(String test, String metric, String broker) {
        Stats s = stats(test, metric, broker);
        return s == null ? 0 : s.median();
    }

    /** Enough digits for a figure between 0.001 and thousands, and no more. */
    static String fmt(double x) {
        double a = Math.abs(x);
        String pattern = a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, pattern, x);
    }
}
