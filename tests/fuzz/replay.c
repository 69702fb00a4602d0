/* replay.c - runs a libFuzzer harness without libFuzzer: every file named
 * on the command line (or every file in a named folder) goes through
 * LLVMFuzzerTestOneInput once. A crash, a sanitizer report or an abort is
 * the failure; tests/regress.sh uses it to replay tests/regress/ and the
 * seed corpora in make check. */
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz_util.h"

/* Defined by the harnesses that need set-up (weak: most do not). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *d = NULL;
    long n;

    if (!fp || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        if (fp) fclose(fp);
        return 1;
    }
    d = malloc((size_t)n + 1);
    if (!d || fread(d, 1, (size_t)n, fp) != (size_t)n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        fclose(fp);
        free(d);
        return 1;
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(d, (size_t)n);
    free(d);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0, runs = 0;

    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            char p[4096];
            while (dir && (e = readdir(dir))) {
                if (e->d_name[0] == '.') continue;
                snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
                bad |= run_file(p);
                runs++;
            }
            if (dir) closedir(dir);
        } else {
            bad |= run_file(argv[i]);
            runs++;
        }
    }
    fprintf(stderr, "replay: %d inputs\n", runs);
    return bad;
}
