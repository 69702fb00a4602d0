/* plot.c - `pixelfix train --plot`: the training curves as a PNG drawn by
 * gnuplot from the run's CSV files (the script goes to gnuplot's stdin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "train/degrade.h"


int cli_train_plot(const char *dir, const char *png_path)
{
    char train[4200], val[4200], tmp[4300];
    struct stat sb;
    snprintf(train, sizeof train, "%s/train.csv", dir);
    snprintf(val, sizeof val, "%s/val.csv", dir);
    if (stat(train, &sb) != 0) {
        fprintf(stderr, "pixelfix train: error: no %s to plot (train first)\n", train);
        return EXIT_INPUT;
    }
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "pixelfix train: error: --plot needs gnuplot (apt-get install gnuplot-nox)\n");
        return EXIT_INTERNAL;
    }
    int has_val = stat(val, &sb) == 0 && sb.st_size > 80;
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld.png", png_path, (long)getpid());
    FILE *g = popen("gnuplot", "w");
    if (!g) return EXIT_INTERNAL;
    /* names go in as gnuplot strings: refuse quotes rather than escape them */
    if (strchr(train, '"') || strchr(tmp, '"')) {
        pclose(g);
        fprintf(stderr, "pixelfix train: error: --plot cannot handle '\"' in paths\n");
        return EXIT_USAGE;
    }
    fprintf(g, "set terminal pngcairo size 1200,%d font ',10'\nset output \"%s\"\n"
               "set datafile separator ','\nset key outside right noenhanced\nset grid\n",
            has_val ? 1000 : 400, tmp);
    fprintf(g, "set multiplot layout %d,1\nset logscale y\nset title 'training loss'\nset xlabel 'step'\n"
               "plot \"%s\" every ::1 using 1:4 with lines title 'total', '' every ::1 using 1:5 with lines "
               "title 'rgb', '' every ::1 using 1:6 with lines title 'alpha', '' every ::1 using 1:7 with lines "
               "title 'temporal'\nunset logscale y\n",
            has_val ? 3 : 1, train);
    if (has_val) {
        const char *cols[2] = {"acc", "flicker"};
        for (int p = 0; p < 2; p++) {
            fprintf(g, "set title 'validation %s (held-out packages)'\nplot ", cols[p]);
            /* "all", then the evaluation set's kinds (degrade.h) */
            for (int k = PF_DKIND_GIF - 1; k <= PF_DKIND_BENT; k++) {
                const char *kind = k < PF_DKIND_GIF ? "all" : pfi_degrade_kind_name(k);
                fprintf(g, "%s\"%s\" using 1:(strcol(2) eq '%s' ? $%d : NaN) with linespoints title '%s'",
                        k >= PF_DKIND_GIF ? ", " : "", val, kind, p == 0 ? 5 : 8, kind);
            }
            fprintf(g, "\n");
        }
    }
    fprintf(g, "unset multiplot\n");
    int rc = pclose(g);
    if (rc != 0 || rename(tmp, png_path) != 0) {
        remove(tmp);
        fprintf(stderr, "pixelfix train: error: gnuplot could not draw %s\n", png_path);
        return EXIT_OUTPUT;
    }
    return 0;
}
