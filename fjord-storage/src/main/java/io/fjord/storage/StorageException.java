package io.fjord.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A broken disk or file: an I/O error, a full file system, or a file whose bytes cannot be
 * trusted. Expected client errors (a corrupt batch in a produce) are not exceptions; see {@link
 * AppendResult.Rejected}.
 *
 * <p>The broker maps this to {@code KAFKA_STORAGE_ERROR}.
 */
public class StorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    public StorageException(String message, Path path, Throwable cause) {
        super(message + " (" + path + ")" + (cause != null ? ": " + cause.getMessage() : ""), cause);
        this.path = path;
    }

    public StorageException(String message, Path path) {
        this(message, path, null);
    }

    /** The file or directory the failure is about. */
    public Path path() {
        return path;
    }

    /** True when the cause looks like a full file system (ENOSPC). */
    public boolean isDiskFull() {
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            if (t instanceof IOException && t.getMessage() != null) {
                String m = t.getMessage();
                if (m.contains("No space left on device") || m.contains("Disk quota exceeded")) {
                    return true;
                }
            }
        }
        return false;
    }
}
