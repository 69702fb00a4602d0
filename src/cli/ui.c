/* ui.c - what the CLI shows on stderr: log lines, the progress bar, and the
 * status-to-exit-code map. Nothing here goes to stdout. */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/common.h"
#include "io/io.h"

int cli_exit_code(pf_status st)
{
    switch (st) {
    case PF_OK: case PF_DONE: return EXIT_OK_;
    case PF_EINVAL: return EXIT_USAGE;
    case PF_EIO: case PF_EFORMAT: case PF_ENOFRAMES: return EXIT_INPUT;
    case PF_ENOGRID: return EXIT_NOGRID;
    case PF_EOUTPUT: case PF_EEXIST: return EXIT_OUTPUT;
    case PF_ENOMEM: return EXIT_NOMEM;
    case PF_ELIMIT: return EXIT_LIMIT;
    case PF_EMODEL: return EXIT_MODEL;
    case PF_EPALETTE: return EXIT_PALETTE;
    case PF_EABORTED: return EXIT_ABORTED;
    case PF_EINTERNAL: return EXIT_INTERNAL;
    }
    return EXIT_INTERNAL;
}

/* The first SIGINT/SIGTERM/SIGHUP asks the library to stop at the next
 * progress call, so the writer removes its temporary file; a second one
 * ends the process at once, but only after removing the temp files itself:
 * dying by the default action would leave them. The three signals are
 * blocked while the handler runs, so a third one cannot cut that short.
 * With a grace period (cli_set_grace), the first one also arms a timer:
 * work that makes no progress calls (grid detection on a huge canvas, a
 * big allocation) ends the same way when the period is over. */
static volatile sig_atomic_t interrupted, grace_ms;
static timer_t grace_timer;   /* valid while grace_ms > 0 */
static void force_exit(void)
{
    static const char msg[] = "pixelfix: error: interrupted\n";
    pf_remove_temp_files();
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
    _exit(EXIT_ABORTED);
}

static void on_signal(int sig)
{
    (void)sig;
    if (interrupted) force_exit();
    interrupted = 1;
    if (grace_ms > 0) {   /* timer_settime is async-signal-safe (POSIX.1-2008, 2.4.3) */
        struct itimerspec it = { { 0, 0 }, { grace_ms / 1000, (long)(grace_ms % 1000) * 1000000L } };
        timer_settime(grace_timer, 0, &it, NULL);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    force_exit();
}

/* The grace timer's own signal: a real-time one, so that SIGALRM stays
 * free for whoever else uses alarm() or setitimer() in the process
 * (libFuzzer's -timeout does, around fuzz_cli). */
#define GRACE_SIGNAL (SIGRTMIN + 1)

void cli_set_grace(int ms)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(GRACE_SIGNAL, &sa, NULL);
    if (grace_ms > 0) {
        grace_ms = 0;
        timer_delete(grace_timer);
    }
    if (ms <= 0) return;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = GRACE_SIGNAL;
    if (timer_create(CLOCK_MONOTONIC, &ev, &grace_timer) == 0) grace_ms = ms;
}

void cli_ui_init(cli_ui *ui, int verbosity)
{
    memset(ui, 0, sizeof *ui);
    ui->verbosity = verbosity;
    ui->tty = isatty(2) && verbosity > 0;
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) sigaddset(&sa.sa_mask, sigs[i]);
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, NULL);
}

int cli_interrupted(void)
{
    return interrupted != 0;
}

void cli_progress_end(cli_ui *ui)
{
    if (ui->bar_drawn) fputs("\r\033[K", stderr);
    ui->bar_drawn = 0;
}

void cli_log(void *user, int level, const char *msg)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    cli_ui *ui = user;
    if (ui && level == PF_LOG_ERROR && ui->errors++ > 0 && ui->one_error && ui->verbosity < 2) return;
    if (ui) cli_progress_end(ui);
    if (level == PF_LOG_INFO || level == PF_LOG_DEBUG)
        fprintf(stderr, "pixelfix: %s\n", msg);
    else
        fprintf(stderr, "pixelfix: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}

int cli_progress(void *user, const char *stage, int64_t done, int64_t total)
{
    cli_ui *ui = user;
    if (interrupted) return 1;
    if (!ui || !ui->tty) return 0;
    /* at most 10 redraws a second, but always the last one of a stage */
    double now = pfi_now_ms();
    if (now - ui->last_draw_ms < 100 && !(total > 0 && done >= total)) return 0;
    ui->last_draw_ms = now;
    if (total > 0) {
        int width = 30, fill = (int)(width * (done > total ? total : done) / total);
        fprintf(stderr, "\r%-8s [%.*s%*s] %lld/%lld", stage, fill,
                "##############################", width - fill, "", (long long)done, (long long)total);
    } else {
        fprintf(stderr, "\r%-8s %lld frames", stage, (long long)done);
    }
    ui->bar_drawn = 1;
    return 0;
}

int cli_write_text(const char *path, const char *text, int force)
{
    pfi_outfile of;
    size_t n = strlen(text), done = 0;
    pf_status st = pfi_outfile_begin(&of, path, force);
    if (st < 0) {
        fprintf(stderr, "pixelfix: error: cannot write '%s': %s\n", path,
                st == PF_EEXIST ? "it exists (use --force)" : pf_strerror(st));
        return cli_exit_code(st);
    }
    while (done < n) {
        ssize_t w = write(of.fd, text + done, n - done);
        if (w <= 0) {
            pfi_outfile_abort(&of);
            fprintf(stderr, "pixelfix: error: cannot write '%s'\n", path);
            return EXIT_OUTPUT;
        }
        done += (size_t)w;
    }
    if (write(of.fd, "\n", 1) != 1 || (st = pfi_outfile_commit(&of)) < 0) {
        pfi_outfile_abort(&of);
        fprintf(stderr, "pixelfix: error: cannot write '%s'%s\n", path,
                st == PF_EEXIST ? ": it was created meanwhile (use --force)" : "");
        return EXIT_OUTPUT;
    }
    return 0;
}
