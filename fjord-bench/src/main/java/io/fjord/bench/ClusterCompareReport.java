package io.fjord.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Prints the markdown table of a {@code bench/cluster-compare.sh} run: for each figure, Kafka's
 * and Fjord's median over the rounds with the lowest and highest value in brackets, and the ratio
 * of the medians, Fjord/Kafka. Reads the same {@code results.tsv} layout as {@link CompareReport}.
 *
 * <pre>
 *  ClusterCompareReport RESULTS_TSV
 * </pre>
 */
public final class ClusterCompareReport {
    private ClusterCompareReport() {}

    /** One row: test and metric in the TSV, the label shown, and whether higher is better. */
    private record Row(String test, String metric, String label, boolean higherIsBetter) {}

    private static final List<Row> ROWS = List.of(
            new Row("produce-defaults", "mbs", "produce, client defaults: MiB/s", true),
            new Row("produce-defaults", "p99_ms", "produce, client defaults: p99 send-to-ack ms", false),
            new Row("produce-defaults", "cpu_s_per_gib", "produce, client defaults: brokers' CPU-s/GiB", false),
            new Row(
                    "produce-defaults",
                    "cpu_s_per_gib_nojit",
                    "produce, client defaults: brokers' CPU-s/GiB without the JIT compiler",
                    false),
            new Row(
                    "produce-defaults",
                    CompareResults.TOUCH,
                    "produce, client defaults: machine: first touch of free pages before the test, s/GiB",
                    false),
            new Row("produce-l5-b64k", "mbs", "produce, linger.ms=5 batch.size=64 KiB: MiB/s", true),
            new Row("produce-l5-b64k", "p99_ms", "produce, linger.ms=5 batch.size=64 KiB: p99 send-to-ack ms", false),
            new Row(
                    "produce-l5-b64k",
                    "cpu_s_per_gib",
                    "produce, linger.ms=5 batch.size=64 KiB: brokers' CPU-s/GiB",
                    false),
            new Row(
                    "produce-l5-b64k",
                    "cpu_s_per_gib_nojit",
                    "produce, linger.ms=5 batch.size=64 KiB: brokers' CPU-s/GiB without the JIT compiler",
                    false),
            new Row(
                    "produce-l5-b64k",
                    CompareResults.TOUCH,
                    "produce, linger.ms=5 batch.size=64 KiB: machine: first touch of free pages before the test, s/GiB",
                    false),
            new Row("e2e", "p50_ms", "end to end, 1 partition: p50 ms", false),
            new Row("e2e", "p99_ms", "end to end, 1 partition: p99 ms", false),
            new Row("e2e", "p999_ms", "end to end, 1 partition: p99.9 ms", false),
            new Row("e2e", "avg_ms", "end to end, 1 partition: avg ms", false),
            new Row("e2e", "cpu_s", "end to end: brokers' CPU-s (whole test)", false),
            new Row("failover", "resume_ms", "failover: kill → ack of first record sent after it, ms", false),
            new Row("failover", "max_ack_gap_ms", "failover: longest gap between acks, ms", false),
            new Row("failover", "lost_or_dup", "failover: log end − records acked (0 = none lost/duplicated)", false),
            new Row("brokers", "vmhwm_mib", "brokers: peak RSS (VmHWM), sum of 3 nodes, MiB", false),
            new Row("brokers", "cpu_s_total", "brokers: CPU-s, sum of 3 nodes, start to before the kill", false),
            new Row("brokers", "start_s", "cluster start until all 3 nodes serve, s", false),
            new Row("admin", "create_topic_failures", "topic creations that failed or took > 60 s", false));

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ClusterCompareReport RESULTS_TSV");
            System.exit(2);
        }
        System.out.print(table(CompareResults.read(Path.of(args[0]))));
    }

    static String table(CompareResults r) {
        StringBuilder sb = new StringBuilder();
        int n = r.rounds();
        String of = n > 1 ? "median (min–max) of " + n + " rounds" : "(1 round)";
        sb.append("| figure | Kafka 4.1.1 ")
                .append(of)
                .append(" | Fjord ")
                .append(of)
                .append(" | Fjord/Kafka |\n");
        sb.append("|---|---:|---:|---:|\n");
        for (Row row : ROWS) {
            CompareResults.Stats k = r.stats(row.test(), row.metric(), CompareResults.KAFKA);
            CompareResults.Stats f = r.stats(row.test(), row.metric(), CompareResults.FJORD);
            if (k == null && f == null) {
                continue;
            }
            String ratio =
                    k == null || f == null || k.median() == 0 || row.metric().equals(CompareResults.TOUCH)
                            ? "–"
                            : String.format(Locale.ROOT, "%.2f", f.median() / k.median());
            if (row.higherIsBetter() && !ratio.equals("–")) {
                ratio = "**" + ratio + "**";
            }
            sb.append("| ")
                    .append(row.label())
                    .append(" | ")
                    .append(cell(k))
                    .append(" | ")
                    .append(cell(f))
                    .append(" | ")
                    .append(ratio)
                    .append(" |\n");
        }
        sb.append('\n')
                .append("Ratios are Fjord/Kafka of the medians. MiB/s (in bold): higher is better, a ratio above 1"
                        + " favours Fjord. Every other figure: lower is better, a ratio below 1 favours Fjord."
                        + " MiB = 2^20 bytes; CPU-s/GiB is per GiB of record values produced (not counting"
                        + " replication)."
                        + CompareResults.NOJIT_NOTE + "\n");
        return sb.toString();
    }

    private static String cell(CompareResults.Stats s) {
        if (s == null) {
            return "–";
        }
        if (s.n() == 1 || s.min() == s.max()) {
            return fmt(s.median());
        }
        return fmt(s.median()) + " (" + fmt(s.min()) + "–" + fmt(s.max()) + ")";
    }

    /** Whole numbers (counts, EndToEndLatency's whole milliseconds) without decimals. */
    private static String fmt(double x) {
        return x == Math.rint(x) ? String.format(Locale.ROOT, "%.0f", x) : CompareResults.fmt(x);
    }
}
