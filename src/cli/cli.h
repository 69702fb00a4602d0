/* cli.h - pieces shared by the pixelfix subcommands: exit codes, the
 * stderr log and progress bar, colour parsing and the JSON report. */
#ifndef PF_CLI_H
#define PF_CLI_H

#include <math.h>
#include <stdio.h>

#include "pixelfix.h"

/* Exit codes, documented in pixelfix(1) EXIT STATUS. */
enum {
    EXIT_OK_ = 0,
    EXIT_INTERNAL = 1,   /* a bug, or an unexpected failure */
    EXIT_USAGE = 2,      /* bad command line */
    EXIT_INPUT = 3,      /* input missing, unreadable, corrupt, unsupported or empty */
    EXIT_NOGRID = 4,     /* no pixel grid found */
    EXIT_OUTPUT = 5,     /* output exists (no --force) or cannot be written */
    EXIT_NOMEM = 6,      /* out of memory */
    EXIT_LIMIT = 7,      /* input over a limit (--max-*) */
    EXIT_MODEL = 8,      /* model file missing, corrupt or mismatched */
    EXIT_PALETTE = 9,    /* palette file invalid */
    EXIT_ABORTED = 130   /* interrupted */
};

/* Maps a library status to the exit code above. */
int cli_exit_code(pf_status st);

/* Native pixels across `px` input pixels at a cell of `cell` px (> 0): what
 * a regular grid of that cell gives, as an upscale of N pixels is round(N s)
 * (src/grid/detect.c); a grid's phase or a mesh's bend may move it by one. */
static inline int cli_cells(int px, double cell)
{
    const long n = cell > 0 ? lrint(px / cell) : 0;
    return n < 1 ? 1 : n > px ? px : (int)n;
}

/* Verbosity shared by the subcommands: 0 quiet, 1 normal, 2 verbose. */
typedef struct cli_ui {
    int verbosity;
    int tty;          /* stderr is a terminal: draw the progress bar */
    int bar_drawn;
    double last_draw_ms;  /* pfi_now_ms() of the last redraw */
    int errors;       /* error lines logged by the library */
    int one_error;    /* a restore or probe: one line per error */
} cli_ui;

void cli_ui_init(cli_ui *ui, int verbosity);
/* pf_log_fn: "pixelfix: error: ..." on stderr. With one_error and without
 * -v, only the first error line is shown: inner modules log the cause
 * first, and what follows is the same failure seen from further out. */
void cli_log(void *user, int level, const char *msg);
/* pf_progress_fn: a one-line bar on stderr, only on a tty and not with -q. */
int cli_progress(void *user, const char *stage, int64_t done, int64_t total);
/* After a first signal, the library gets `ms` milliseconds to return (0 = no
 * limit, and a pending limit is cancelled); then the temp files are
 * removed and the process exits 130. For the restore, not the trainer,
 * whose checkpoint must not be cut short. */
void cli_set_grace(int ms);

/* 1 once SIGINT, SIGTERM or SIGHUP arrived (after cli_ui_init). */
int cli_interrupted(void);
/* Erases the bar before other output. */
void cli_progress_end(cli_ui *ui);

/* The report as a pretty-printed JSON object (malloc'd; NULL on OOM). */
char *cli_report_json(const char *input, const char *output, const pf_report *rep);

/* Writes text to path atomically (temp file + rename). Returns an exit code. */
int cli_write_text(const char *path, const char *text, int force);

int cli_eval(int argc, char **argv);
int cli_train(int argc, char **argv);
/* Draws a training folder's train.csv and val.csv with gnuplot into
 * png_path: the loss (log scale), and validation acc and flicker per kind.
 * Returns an exit code (EXIT_INPUT without train.csv, EXIT_INTERNAL
 * without gnuplot, EXIT_OUTPUT when gnuplot fails). */
int cli_train_plot(const char *dir, const char *png_path);

#endif
