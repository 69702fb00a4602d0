/*
 * outfile.c - atomic output files: every encoder writes into a temporary
 * file beside the final path (mkstemp "<final>.tmp-XXXXXX") and renames it
 * on success, so a failure never leaves a half-written output. Not an
 * encoder itself; see the writer_*.c files.
 */
#include "encode.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The process umask, read once: mkstemp makes 0600 files, but outputs
 * should get the permissions an ordinary open(O_CREAT, 0666) would. */
static mode_t g_umask;
static pthread_once_t g_umask_once = PTHREAD_ONCE_INIT;
static void read_umask(void)
{
    g_umask = umask(022);
    umask(g_umask);
}

/* PF_EEXIST when path exists (even as a dangling link) and !force. */
pf_status pf_output_check(const char *path, int force)
{
    struct stat sb;
    if (!path || !*path) return PF_EINVAL;
    /* lstat: a dangling symlink still counts as an existing output. */
    if (!force && lstat(path, &sb) == 0) return PF_EEXIST;
    return PF_OK;
}

/* mkstemp "<final>.tmp-XXXXXX" beside final_path, mode 0666 & ~umask.
 * Errors: PF_EINVAL, PF_EEXIST, PF_EOUTPUT (errno says why). */
pf_status pf_outfile_begin(pf_outfile *o, const char *final_path, int force)
{
    static const char suffix[] = ".tmp-XXXXXX";
    size_t n;
    pf_status st;
    int e;

    PF_ASSERT(o);
    o->fd = -1;
    o->final_path[0] = o->tmp_path[0] = '\0';
    if (!final_path || !*final_path) return PF_EINVAL;
    if ((st = pf_output_check(final_path, force)) < 0) return st;
    n = strlen(final_path);
    if (n + sizeof suffix > sizeof o->tmp_path) {
        errno = ENAMETOOLONG;
        return PF_EOUTPUT;
    }
    memcpy(o->final_path, final_path, n + 1);
    memcpy(o->tmp_path, final_path, n);
    memcpy(o->tmp_path + n, suffix, sizeof suffix);
    o->fd = mkstemp(o->tmp_path);
    if (o->fd < 0) {
        o->tmp_path[0] = '\0';
        return PF_EOUTPUT;   /* errno from mkstemp */
    }
    pthread_once(&g_umask_once, read_umask);
    if (fchmod(o->fd, 0666 & ~g_umask) != 0) {
        e = errno;
        pf_outfile_abort(o);
        errno = e;
        return PF_EOUTPUT;
    }
    return PF_OK;
}

/* Best effort: makes the rename itself durable. */
static void sync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd;
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

/* fsync, close, rename onto the final path, fsync the folder (best
 * effort). On failure the temp file is removed. Errors: PF_EOUTPUT (errno). */
pf_status pf_outfile_commit(pf_outfile *o)
{
    int e;
    PF_ASSERT(o);
    if (o->fd < 0 || !o->tmp_path[0]) {
        errno = EBADF;
        return PF_EOUTPUT;
    }
    /* EINVAL: the file system cannot sync (pipes, some FUSE); not a failure. */
    if (fsync(o->fd) != 0 && errno != EINVAL && errno != EROFS) goto fail;
    e = close(o->fd);
    o->fd = -1;
    if (e != 0 && errno != EINTR) goto fail;
    if (rename(o->tmp_path, o->final_path) != 0) goto fail;
    o->tmp_path[0] = '\0';
    sync_parent(o->final_path);
    return PF_OK;
fail:
    e = errno;
    pf_outfile_abort(o);
    errno = e;
    return PF_EOUTPUT;
}

/* Closes and unlinks the temp file; idempotent, keeps errno. */
void pf_outfile_abort(pf_outfile *o)
{
    int e = errno;
    if (!o) return;
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (o->tmp_path[0]) unlink(o->tmp_path);
    o->tmp_path[0] = '\0';
    errno = e;
}

pf_status pf_outfile_open(pf_outfile *o, const char *final_path, int force,
                          const pf_logger *lg)
{
    pf_status st = pf_outfile_begin(o, final_path, force);
    if (st == PF_EEXIST)
        pf_error(lg, "'%s' exists; use --force to overwrite it", final_path);
    else if (st == PF_EOUTPUT)
        pf_error(lg, "cannot write '%s': %s", final_path, strerror(errno));
    else if (st < 0)
        pf_error(lg, "invalid output path");
    return st;
}

pf_status pf_outfile_probe(const char *final_path, int force, const pf_logger *lg)
{
    pf_outfile o = {.fd = -1};
    pf_status st = pf_outfile_open(&o, final_path, force, lg);
    pf_outfile_abort(&o);
    return st;
}

pf_status pf_outfile_close(pf_outfile *o, const pf_logger *lg)
{
    pf_status st = pf_outfile_commit(o);
    if (st < 0) pf_error(lg, "cannot write '%s': %s", o->final_path, strerror(errno));
    return st;
}

pf_status pf_write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return PF_EOUTPUT;
        }
        if (w == 0) {
            errno = EIO;
            return PF_EOUTPUT;
        }
        p += w;
        n -= (size_t)w;
    }
    return PF_OK;
}
