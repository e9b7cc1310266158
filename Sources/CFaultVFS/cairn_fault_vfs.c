#include "cairn_fault_vfs.h"
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

/* The wrapped file: our header, then the default VFS's file in the same allocation. */
typedef struct FaultFile {
    sqlite3_file base;
    sqlite3_file *real;
} FaultFile;

enum { FAULT_READ = 1, FAULT_WRITE = 2, FAULT_FULL = 3 };
static int fault_kind;
static long fault_after;
static atomic_long fault_count;
static sqlite3_vfs *base_vfs;
static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_methods;

#define REAL(f) (((FaultFile *)(f))->real)

static int fails(int kind) {
    if (fault_kind != kind && !(kind == FAULT_WRITE && fault_kind == FAULT_FULL)) return 0;
    return atomic_fetch_add(&fault_count, 1) >= fault_after;
}

static int f_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
    if (fails(FAULT_READ)) return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
    if (fails(FAULT_WRITE)) return fault_kind == FAULT_FULL ? SQLITE_FULL : SQLITE_IOERR_WRITE;
    return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }
static int f_sync(sqlite3_file *f, int flags) { return REAL(f)->pMethods->xSync(REAL(f), flags); }
static int f_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int f_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int f_reserved(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int f_control(sqlite3_file *f, int op, void *arg) { return REAL(f)->pMethods->xFileControl(REAL(f), op, arg); }
static int f_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_caps(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int f_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **pp) {
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, pp);
}
static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags) { return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags); }
static void f_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
/* No memory map: every read goes through f_read, where it can fail. */
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) { (void)f; (void)off; (void)n; *pp = 0; return SQLITE_OK; }
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) { (void)f; (void)off; (void)p; return SQLITE_OK; }

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out) {
    (void)vfs;
    FaultFile *ff = (FaultFile *)file;
    ff->real = (sqlite3_file *)&ff[1];
    int rc = base_vfs->xOpen(base_vfs, name, ff->real, flags, out);
    ff->base.pMethods = ff->real->pMethods ? &fault_methods : 0;
    return rc;
}
static int f_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return base_vfs->xDelete(base_vfs, n, s); }
static int f_access(sqlite3_vfs *v, const char *n, int fl, int *o) { (void)v; return base_vfs->xAccess(base_vfs, n, fl, o); }
static int f_full(sqlite3_vfs *v, const char *n, int len, char *o) { (void)v; return base_vfs->xFullPathname(base_vfs, n, len, o); }
static void *f_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return base_vfs->xDlOpen(base_vfs, n); }
static void f_dlerror(sqlite3_vfs *v, int n, char *m) { (void)v; base_vfs->xDlError(base_vfs, n, m); }
static void (*f_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return base_vfs->xDlSym(base_vfs, h, s); }
static void f_dlclose(sqlite3_vfs *v, void *h) { (void)v; base_vfs->xDlClose(base_vfs, h); }
static int f_random(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xRandomness(base_vfs, n, o); }
static int f_sleep(sqlite3_vfs *v, int us) { (void)v; return base_vfs->xSleep(base_vfs, us); }
static int f_time(sqlite3_vfs *v, double *t) { (void)v; return base_vfs->xCurrentTime(base_vfs, t); }
static int f_lasterr(sqlite3_vfs *v, int n, char *m) { (void)v; return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, m) : 0; }
static int f_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; return base_vfs->xCurrentTimeInt64(base_vfs, t); }

static const char *registered;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void setup(void) {
    const char *spec = getenv("CAIRN_FAULT_VFS");
    if (!spec) return;
    const char *colon = strchr(spec, ':');
    if (!colon) return;
    size_t k = (size_t)(colon - spec);
    if (k == 4 && !strncmp(spec, "read", 4)) fault_kind = FAULT_READ;
    else if (k == 5 && !strncmp(spec, "write", 5)) fault_kind = FAULT_WRITE;
    else if (k == 4 && !strncmp(spec, "full", 4)) fault_kind = FAULT_FULL;
    else return;
    fault_after = strtol(colon + 1, 0, 10);
    base_vfs = sqlite3_vfs_find(0);
    if (!base_vfs) return;
    fault_methods = (sqlite3_io_methods){
        3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_reserved, f_control,
        f_sector, f_caps, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch};
    fault_vfs = *base_vfs;
    fault_vfs.iVersion = base_vfs->iVersion < 2 ? base_vfs->iVersion : 2;
    fault_vfs.szOsFile = (int)sizeof(FaultFile) + base_vfs->szOsFile;
    fault_vfs.zName = "cairn-fault";
    fault_vfs.pNext = 0;
    fault_vfs.xOpen = f_open;
    fault_vfs.xDelete = f_delete;
    fault_vfs.xAccess = f_access;
    fault_vfs.xFullPathname = f_full;
    fault_vfs.xDlOpen = f_dlopen;
    fault_vfs.xDlError = f_dlerror;
    fault_vfs.xDlSym = f_dlsym;
    fault_vfs.xDlClose = f_dlclose;
    fault_vfs.xRandomness = f_random;
    fault_vfs.xSleep = f_sleep;
    fault_vfs.xCurrentTime = f_time;
    fault_vfs.xGetLastError = f_lasterr;
    fault_vfs.xCurrentTimeInt64 = f_time64;
    if (sqlite3_vfs_register(&fault_vfs, 0) == SQLITE_OK) registered = fault_vfs.zName;
}

const char *cairn_fault_vfs_name(void) {
    pthread_once(&once, setup);
    return registered;
}
