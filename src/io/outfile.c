/*
 * outfile.c - atomic output files: every encoder writes into a temporary
 * file beside the final path (mkstemp "<final>.tmp-XXXXXX", the base name
 * shortened to fit NAME_MAX) and moves it into place on success, so a
 * failure never leaves a half-written output. Without force the move never
 * replaces a file that appeared meanwhile. Open temp files are listed in
 * the signal-safe table of base/tempfiles.c, so that pf_remove_temp_files()
 * can delete them from a signal handler. Not an encoder itself; see the
 * writer_*.c files.
 */
#define _GNU_SOURCE   /* renameat2, RENAME_NOREPLACE */
#include "io/encode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
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
pf_status pfi_output_check(const char *path, int force)
{
    struct stat sb;
    if (!path || !*path) return PF_EINVAL;
    /* lstat: a dangling symlink still counts as an existing output. */
    if (!force && lstat(path, &sb) == 0) return PF_EEXIST;
    return PF_OK;
}

int pfi_sibling_name(char *out, size_t n, const char *path, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash + 1 - path) : 0, base = strlen(path) - dir;
    size_t suf = strlen(suffix);

    if (suf >= NAME_MAX) return -1;
    if (base + suf > NAME_MAX) {
        base = NAME_MAX - suf;
        /* do not cut a UTF-8 sequence in two */
        while (base > 0 && ((unsigned char)path[dir + base] & 0xC0) == 0x80) base--;
    }
    if (dir + base + suf >= n) return -1;
    memcpy(out, path, dir + base);
    memcpy(out + dir + base, suffix, suf + 1);
    return 0;
}

int pfi_same_file(const char *path, const pfi_file_id *id)
{
    struct stat sb;
    return id && id->valid && stat(path, &sb) == 0 && sb.st_dev == id->dev && sb.st_ino == id->ino;
}

/* mkstemp "<final>.tmp-XXXXXX" beside final_path, mode 0666 & ~umask.
 * Errors: PF_EINVAL, PF_EEXIST, PF_EOUTPUT (errno says why). */
pf_status pfi_outfile_begin(pfi_outfile *o, const char *final_path, int force)
{
    const char *base;
    struct stat sb;
    char *tmpl;
    size_t n;
    pf_status st;
    int e;

    PF_ASSERT(o);
    memset(o, 0, sizeof *o);
    o->fd = -1;
    if (!final_path || !*final_path) return PF_EINVAL;
    if ((st = pfi_output_check(final_path, force)) < 0) return st;
    n = strlen(final_path);
    base = strrchr(final_path, '/');
    base = base ? base + 1 : final_path;
    if (n >= sizeof o->final_path || strlen(base) > NAME_MAX ||
        pfi_sibling_name(o->tmp_path, sizeof o->tmp_path, final_path, ".tmp-XXXXXX") < 0) {
        o->tmp_path[0] = '\0';
        errno = ENAMETOOLONG;
        return PF_EOUTPUT;
    }
    memcpy(o->final_path, final_path, n + 1);
    o->force = force != 0;
    tmpl = pfi_temp_claim(&o->slot);
    if (tmpl) {
        memcpy(tmpl, o->tmp_path, strlen(o->tmp_path) + 1);
        pfi_temp_list(o->slot);
    } else {
        tmpl = o->tmp_path;
    }
    o->fd = mkstemp(tmpl);
    if (o->fd < 0) {
        e = errno;
        pfi_temp_release(o->slot);
        o->slot = 0;
        o->tmp_path[0] = '\0';
        errno = e;
        return PF_EOUTPUT;   /* errno from mkstemp */
    }
    if (tmpl != o->tmp_path) memcpy(o->tmp_path, tmpl, strlen(tmpl) + 1);
    pthread_once(&g_umask_once, read_umask);
    if (fchmod(o->fd, 0666 & ~g_umask) != 0 || fstat(o->fd, &sb) != 0) {
        e = errno;
        pfi_outfile_abort(o);
        errno = e;
        return PF_EOUTPUT;
    }
    o->dev = sb.st_dev;
    o->ino = sb.st_ino;
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

/* Moves from onto to unless to exists (EEXIST then). One atomic step where
 * the file system has RENAME_NOREPLACE; else link() (which refuses an
 * existing name too) and unlink; else, where neither exists (some FUSE and
 * network file systems), a check and a rename, which two writers can race. */
static int move_noreplace(const char *from, const char *to)
{
    struct stat sb;
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP && errno != EPERM) return -1;
#endif
    if (link(from, to) == 0) {
        unlink(from);
        return 0;
    }
    if (errno != EPERM && errno != ENOTSUP && errno != ENOSYS && errno != EMLINK) return -1;
    if (lstat(to, &sb) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

/* fsync, close, move onto the final path (replacing it only with force),
 * fsync the folder (best effort). On failure the temp file is removed.
 * Errors: PF_EEXIST (the final path appeared meanwhile and !force),
 * PF_EOUTPUT (errno). */
pf_status pfi_outfile_commit(pfi_outfile *o)
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
    if ((o->force ? rename(o->tmp_path, o->final_path) : move_noreplace(o->tmp_path, o->final_path)) != 0)
        goto fail;
    o->tmp_path[0] = '\0';
    pfi_temp_release(o->slot);
    o->slot = 0;
    o->placed = 1;
    sync_parent(o->final_path);
    return PF_OK;
fail:
    e = errno;
    pfi_outfile_abort(o);
    errno = e;
    return e == EEXIST ? PF_EEXIST : PF_EOUTPUT;
}

/* Closes and unlinks the temp file; idempotent, keeps errno. */
void pfi_outfile_abort(pfi_outfile *o)
{
    int e = errno;
    if (!o) return;
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (o->tmp_path[0]) unlink(o->tmp_path);
    o->tmp_path[0] = '\0';
    pfi_temp_release(o->slot);
    o->slot = 0;
    errno = e;
}

int pfi_outfile_unplace(pfi_outfile *o)
{
    struct stat sb;
    if (!o || !o->placed) return -1;
    o->placed = 0;
    /* someone may have replaced it since (with force): leave theirs */
    if (lstat(o->final_path, &sb) != 0 || sb.st_dev != o->dev || sb.st_ino != o->ino) return -1;
    return unlink(o->final_path);
}

pf_status pfi_outfile_open(pfi_outfile *o, const char *final_path, int force,
                          const pfi_logger *lg)
{
    pf_status st = pfi_outfile_begin(o, final_path, force);
    if (st == PF_EEXIST)
        pfi_error(lg, "'%s' exists; use --force to overwrite it", final_path);
    else if (st == PF_EOUTPUT)
        pfi_error(lg, "cannot write '%s': %s", final_path, strerror(errno));
    else if (st < 0)
        pfi_error(lg, "invalid output path");
    return st;
}

pf_status pfi_outfile_probe(const char *final_path, int force, const pfi_logger *lg)
{
    pfi_outfile o = {.fd = -1};
    pf_status st = pfi_outfile_open(&o, final_path, force, lg);
    pfi_outfile_abort(&o);
    return st;
}

pf_status pfi_outfile_close(pfi_outfile *o, const pfi_logger *lg)
{
    pf_status st = pfi_outfile_commit(o);
    if (st == PF_EEXIST)
        pfi_error(lg, "'%s' was created by someone else while pixelfix wrote it; left as it is "
                 "(use --force to overwrite it)", o->final_path);
    else if (st < 0)
        pfi_error(lg, "cannot write '%s': %s", o->final_path, strerror(errno));
    return st;
}

pf_status pfi_write_all(int fd, const void *buf, size_t n)
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
