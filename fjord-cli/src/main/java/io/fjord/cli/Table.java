package io.fjord.cli;

import java.io.PrintStream;
import java.util.List;

/** Prints rows as left-aligned columns two spaces apart, with no trailing blanks. */
final class Table {
    private Table() {}

    static void print(List<String[]> rows, PrintStream out) {
        int columns = rows.stream().mapToInt(r -> r.length).max().orElse(0);
        int[] widths = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        }
        StringBuilder line = new StringBuilder();
        for (String[] r : rows) {
            line.setLength(0);
            for (int i = 0; i < r.length; i++) {
                if (i > 0) {
                    line.append("  ");
                }
                line.append(r[i]);
                if (i < r.length - 1) {
                    line.append(" ".repeat(widths[i] - r[i].length()));
                }
            }
            out.println(line);
        }
    }
}
