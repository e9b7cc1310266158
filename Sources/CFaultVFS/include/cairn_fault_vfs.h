#ifndef CAIRN_FAULT_VFS_H
#define CAIRN_FAULT_VFS_H

/// A SQLite VFS over the default one that fails reads or writes on cue, so the tests can see
/// what an I/O error or a full disk does (docs/reliability.md). It is registered only when the
/// environment variable CAIRN_FAULT_VFS is set, as KIND:N:
///   read:N   every read of a store file after the first N fails (SQLITE_IOERR_READ);
///   write:N  every write after the first N fails (SQLITE_IOERR_WRITE);
///   full:N   every write after the first N fails as a full disk (SQLITE_FULL).
/// Returns the VFS's name, or NULL when the variable is not set (or not understood).
const char *cairn_fault_vfs_name(void);

#endif
