package io.fjord.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Prints the markdown table of a {@code bench/compare.sh} run: for each figure, Kafka's and
 * Fjord's median over the rounds with the lowest and highest value in brackets, and the ratio of
 * the medians, Fjord/Kafka.
 *
 * <pre>
 *  CompareReport RESULTS_TSV
 * </pre>
 */
public final class CompareReport {
    private CompareReport() {}

    /** Figures shown per kind of test, in order, with their labels. */
    private static final Map<String, String> PRODUCE = labels(
            "mbs",
            "MiB/s",
            "avg_ms",
            "avg latency ms",
            "p99_ms",
            "p99 latency ms",
            "cpu_s_per_gib",
            "broker CPU-s/GiB",
            "cpu_s_per_gib_nojit",
            "broker CPU-s/GiB without the JIT compiler",
            CompareResults.TOUCH,
            "machine: first touch of free pages before the test, s/GiB");

    private static final Map<String, String> CONSUME = labels(
            "mbs",
            "MiB/s",
            "cpu_s_per_gib",
            "broker CPU-s/GiB",
            "cpu_s_per_gib_nojit",
            "broker CPU-s/GiB without the JIT compiler");
    private static final Map<String, String> E2E = labels(
            "avg_ms", "avg ms", "p50_ms", "p50 ms", "p99_ms", "p99 ms", "p999_ms", "p99.9 ms", "cpu_s", "broker CPU-s");
    private static final Map<String, String> BROKER = labels(
            "vmhwm_mib",
            "peak RSS (VmHWM) MiB",
            "vmrss_mib",
            "RSS at the end MiB",
            "cpu_s_total",
            "broker CPU-s incl. start-up and warm-up");
    private static final Map<String, String> MACHINE = labels("load1_at_start", "1-min load average at start");

    /** The workloads in the order of the table (tests not listed follow in the order they ran). */
    static final List<String> TEST_ORDER = List.of(
            "produce-p1-defaults",
            "produce-p6-defaults",
            "produce-p1-acks1-l5-b64k",
            "produce-p6-acks1-l5-b64k",
            "produce-p1-acksall-l5-b64k",
            "produce-p6-acksall-l5-b64k",
            "consume-p1",
            "consume-p6",
            "e2e-p1-acks1",
            "e2e-p6-acks1",
            "broker",
            "machine");

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: CompareReport RESULTS_TSV");
            System.exit(2);
        }
        System.out.print(table(CompareResults.read(Path.of(args[0]))));
    }

    static String table(CompareResults r) {
        StringBuilder sb = new StringBuilder();
        int n = r.rounds();
        sb.append(String.format(
                Locale.ROOT,
                "| test | figure | Kafka 4.1.1 %2$s | Fjord %2$s | Fjord/Kafka (of medians) |%n",
                n,
                n > 1 ? "median (min–max) of " + n + " rounds" : "(1 round)"));
        sb.append("|---|---|---:|---:|---:|\n");
        List<String> tests = new ArrayList<>(TEST_ORDER);
        for (String t : r.tests()) {
            if (!tests.contains(t)) {
                tests.add(tests.size() - 2, t);
            }
        }
        for (String test : tests) {
            if (!r.tests().contains(test)) {
                continue;
            }
            String label = testLabel(test);
            for (Map.Entry<String, String> m : metricsOf(test).entrySet()) {
                CompareResults.Stats k = r.stats(test, m.getKey(), CompareResults.KAFKA);
                CompareResults.Stats f = r.stats(test, m.getKey(), CompareResults.FJORD);
                if (k == null && f == null) {
                    continue;
                }
                String ratio = "machine".equals(test)
                                || CompareResults.TOUCH.equals(m.getKey())
                                || k == null
                                || f == null
                                || k.median() == 0
                        ? "–"
                        : String.format(Locale.ROOT, "%.2f", f.median() / k.median());
                if (m.getKey().equals("mbs") && !ratio.equals("–")) {
                    ratio = "**" + ratio + "**";
                }
                sb.append("| ")
                        .append(label)
                        .append(" | ")
                        .append(m.getValue())
                        .append(" | ")
                        .append(cell(k))
                        .append(" | ")
                        .append(cell(f))
                        .append(" | ")
                        .append(ratio)
                        .append(" |\n");
                label = "";
            }
        }
        sb.append('\n')
                .append("Ratios are Fjord/Kafka of the medians. MiB/s (in bold): higher is better, a ratio above 1"
                        + " favours Fjord. Every other figure (latency, broker CPU-seconds, RSS): lower is better, a"
                        + " ratio below 1 favours Fjord. MiB = 2^20 bytes."
                        + CompareResults.NOJIT_NOTE + "\n");
        return sb.toString();
    }

    private static String cell(CompareResults.Stats s) {
        if (s == null) {
            return "–";
        }
        if (s.n() == 1 || s.min() == s.max()) {
            return CompareResults.fmt(s.median());
        }
        return CompareResults.fmt(s.median()) + " (" + CompareResults.fmt(s.min()) + "–" + CompareResults.fmt(s.max())
                + ")";
    }

    private static Map<String, String> metricsOf(String test) {
        if (test.startsWith("produce-")) {
            return PRODUCE;
        } else if (test.startsWith("consume-")) {
            return CONSUME;
        } else if (test.startsWith("e2e-")) {
            return E2E;
        } else if (test.equals("broker")) {
            return BROKER;
        } else if (test.equals("machine")) {
            return MACHINE;
        }
        return Map.of();
    }

    /** "produce-p6-acks1-l5-b64k" -> "produce 6 partitions, acks=1 linger.ms=5 batch.size=64 KiB". */
    static String testLabel(String test) {
        String[] p = test.split("-");
        String parts = p.length > 1 && p[1].matches("p\\d+")
                ? p[1].substring(1) + (p[1].equals("p1") ? " partition" : " partitions")
                : "";
        if (test.startsWith("produce-")) {
            String settings = test.contains("-defaults")
                    ? "client defaults (acks=all)"
                    : (test.contains("-acks1-") ? "acks=1" : "acks=all") + " linger.ms=5 batch.size=64 KiB";
            return "produce " + parts + ", " + settings;
        } else if (test.startsWith("consume-")) {
            return "consume " + parts;
        } else if (test.startsWith("e2e-")) {
            return "end to end " + parts + ", acks=1";
        } else if (test.equals("broker")) {
            return "broker, end of each side";
        } else if (test.equals("machine")) {
            return "machine";
        }
        return test;
    }

    /** "produce-p6-acks1-l5-b64k" -> "p6 acks=1 l5 b64k", for chart axes. */
    static String shortLabel(String test) {
        return test.replace("produce-", "")
                .replace("consume-", "consume ")
                .replace("-defaults", " defaults")
                .replace("-acks1-l5-b64k", " acks=1 l5 b64k")
                .replace("-acksall-l5-b64k", " acks=all l5 b64k");
    }

    private static Map<String, String> labels(String... keyLabel) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < keyLabel.length; i += 2) {
            m.put(keyLabel[i], keyLabel[i + 1]);
        }
        return m;
    }
}
