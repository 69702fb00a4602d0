# pixelfix - restores pixel-art animation.
# Targets: all check bench install uninstall clean demo fuzz ffmpeg check-ffmpeg.
# Honours DESTDIR and PREFIX.

-include config.mk

ifeq ($(wildcard config.mk),)
$(info config.mk missing: running ./configure)
$(shell ./configure >&2)
include config.mk
endif

BUILD   := build
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wvla
# PF_DATADIR is only the last place the model is looked for: the program's
# own ../share/pixelfix/models comes first, so `make install PREFIX=DIR`
# works whatever prefix the library was compiled with (src/core/model_path.c).
MODEL_DIRS := -DPF_DATADIR='"$(PREFIX)/share/pixelfix/models"' -DPF_SRCDIR='"$(CURDIR)"'
CFLAGS  += $(CSTD) $(WARN) $(OPTFLAGS) $(DEP_CFLAGS) -MMD -MP -Isrc $(MODEL_DIRS)
LDLIBS  := $(DEP_LIBS)
LDFLAGS += $(SAN_LDFLAGS)

LIB_SRC := $(sort $(wildcard src/base/*.c src/core/*.c src/eval/*.c src/io/*.c src/grid/*.c src/nn/*.c \
                             src/palette/*.c))
# The trainer is not part of the installed library: the binary, the tests
# and the tools link it from a library of its own, first.
TRAIN_SRC := $(sort $(wildcard src/train/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TRAIN_OBJ := $(TRAIN_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIB := $(BUILD)/libpixelfix.a
TRAIN_LIB := $(BUILD)/libpixelfix-train.a
BIN := pixelfix
PC  := $(BUILD)/pixelfix.pc

.PHONY: all check check-valgrind check-engine check-batch bench install uninstall clean demo tools fuzz fuzz-coverage $(PC)
all: $(BIN) $(PC)

config.mk: configure
	./configure $(CONFIGURE_ARGS)

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(TRAIN_LIB): $(TRAIN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(TRAIN_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(TRAIN_LIB) $(LIB) $(LDLIBS)

PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^\#define PF_VERSION_STRING "\(.*\)"/\1/p' src/pixelfix.h)|' \
	    -e 's|@LIBS@|$(DEP_LIBS)|' pixelfix.pc.in

$(PC): pixelfix.pc.in config.mk
	@mkdir -p $(dir $@)
	$(PC_SED) > $@

$(BUILD)/tests/%: tests/%.c $(TRAIN_LIB) $(LIB) tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(TRAIN_LIB) $(LIB) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(TRAIN_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TRAIN_LIB) $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(TRAIN_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TRAIN_LIB) $(LIB) $(LDLIBS)

tools: $(TOOL_BIN)

# ---- fuzzing ----------------------------------------------------------------
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer harness. make check builds it
# with $(CC) and tests/fuzz/replay.c (build/replay/fuzz_NAME) and replays
# tests/regress/NAME/ and the seeds through it (tests/regress.sh). make fuzz
# builds it with clang -fsanitize=fuzzer,address,undefined (build/fuzz/) and
# runs each for FUZZ_SECONDS, FUZZ_JOBS at a time (tests/fuzz/run.sh).
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/replay/%)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
CLI_LIB    := $(BUILD)/replay/libpixelfix-cli.a
NOMAIN_CLI_OBJ := $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
NODEP_CFLAGS = $(filter-out -MMD -MP,$(CFLAGS))

$(BUILD)/replay/cli_main.o: src/cli/main.c config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Dmain=pfi_cli_main -c $< -o $@

$(CLI_LIB): $(NOMAIN_CLI_OBJ) $(BUILD)/replay/cli_main.o
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/replay/replay.o: tests/fuzz/replay.c tests/fuzz/fuzz_util.h config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(BUILD)/replay/replay.o $(CLI_LIB) $(TRAIN_LIB) $(LIB)
	$(CC) $(NODEP_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/replay/replay.o $(CLI_LIB) $(TRAIN_LIB) $(LIB) $(LDLIBS)

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_CFLAGS  := $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                $(DEP_CFLAGS) -MMD -MP -Isrc $(MODEL_DIRS)
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(TRAIN_SRC:%.c=$(BUILD)/fuzz/obj/%.o) \
            $(filter-out $(BUILD)/fuzz/obj/src/cli/main.o,$(CLI_SRC:%.c=$(BUILD)/fuzz/obj/%.o)) \
            $(BUILD)/fuzz/obj/cli_main.o

$(BUILD)/fuzz/obj/cli_main.o: src/cli/main.c config.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Dmain=pfi_cli_main -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    -fsanitize-coverage-ignorelist=tests/fuzz/coverage-ignore.txt -c $< -o $@

$(BUILD)/fuzz/libpixelfix-fuzz.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(BUILD)/fuzz/libpixelfix-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libpixelfix-fuzz.a $(DEP_LIBS)

fuzz: $(FUZZ_BIN)
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_BIN)

# Line and branch coverage the fuzz corpora reach (tests/fuzz/coverage.sh).
fuzz-coverage:
	sh tests/fuzz/coverage.sh

# Every test binary's exit code is its verdict; tests/run.sh prints the
# closing "N passed, N failed" line. tests/cli.sh runs `make install` into a
# temporary DESTDIR with PF_BUILD, so it installs this BUILD's binary.
check: $(BIN) $(TEST_BIN) $(TOOL_BIN) $(REPLAY_BIN)
	PIXELFIX=./$(BIN) MKMODEL=$(BUILD)/tools/mkmodel REPLAY_DIR=$(BUILD)/replay PF_BUILD=$(BUILD) \
	    sh tests/run.sh $(TEST_BIN)

# valgrind over the CLI on every sample (tests/valgrind.sh); slow, not in check.
check-valgrind: $(BIN)
	PIXELFIX=./$(BIN) VALGRIND_MODEL=$(VALGRIND_MODEL) sh tests/valgrind.sh

# The spritesheet JSON in a real engine: Phaser (npm, pinned) in headless
# Chromium plays a sheet's tag (tests/engine/phaser.sh; needs chromium, npm).
check-engine: $(BIN)
	bash tests/engine/phaser.sh ./$(BIN)

# The many-clips recipes: GNU parallel with 1 and 2 jobs and the Slurm array
# script over the samples, outputs byte-identical to a sequential run
# (tests/batch.sh; needs GNU parallel). Prints clips per minute.
check-batch: $(BIN)
	PIXELFIX=./$(BIN) sh tests/batch.sh

bench: $(BIN) $(BENCH_BIN)
	sh bench/run.sh $(BENCH_BIN)

demo: $(BIN)
	sh samples/demo.sh

# The .pc is written for this PREFIX straight into DESTDIR, leaving $(PC) as built.
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/pixelfix/models
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pixelfix
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libpixelfix.a
	$(PC_SED) > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pixelfix.pc && chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/pixelfix.pc
	install -m 644 src/pixelfix.h $(DESTDIR)$(PREFIX)/include/pixelfix.h
	install -m 644 man/pixelfix.1 $(DESTDIR)$(PREFIX)/share/man/man1/pixelfix.1
	for f in models/*.safetensors; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(PREFIX)/share/pixelfix/models/ || true; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pixelfix $(DESTDIR)$(PREFIX)/lib/libpixelfix.a \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/pixelfix.pc $(DESTDIR)$(PREFIX)/include/pixelfix.h \
	    $(DESTDIR)$(PREFIX)/share/man/man1/pixelfix.1
	rm -rf $(DESTDIR)$(PREFIX)/share/pixelfix

clean:
	rm -rf $(BUILD) $(BIN) out

# An FFmpeg 5.1 with the pixelfix filter, build/ffmpeg/ffmpeg (filters/build-ffmpeg.sh:
# FFMPEG_SRC=DIR builds from that tree, else apt-get source). Idempotent; relinks when
# libpixelfix.a changed. check-ffmpeg runs the filter's tests (tests/ffmpeg.sh).
.PHONY: ffmpeg check-ffmpeg
ffmpeg: $(LIB) config.mk
	sh filters/build-ffmpeg.sh $(if $(FFMPEG_SRC),--with-ffmpeg-src=$(FFMPEG_SRC))

check-ffmpeg: ffmpeg $(BIN) $(TOOL_BIN)
	sh tests/ffmpeg.sh

-include $(LIB_OBJ:.o=.d) $(TRAIN_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(TOOL_BIN:=.d) $(BENCH_BIN:=.d) \
         $(BUILD)/replay/cli_main.d $(BUILD)/replay/replay.d \
         $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)
