package io.fjord.storage;

import java.nio.file.Path;

/** Another process (or another {@link LogManager} in this one) already owns the data directory. */
public final class DataDirLockedException extends StorageException {
    private static final long serialVersionUID = 1L;

    public DataDirLockedException(Path lockFile) {
        super("data directory is in use by another Fjord process; lock held on", lockFile);
    }
}
