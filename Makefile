# pixelfix - restores pixel-art animation.
# Targets: all check bench install uninstall clean demo. Honours DESTDIR and PREFIX.

-include config.mk

ifeq ($(wildcard config.mk),)
$(info config.mk missing: running ./configure)
$(shell ./configure >&2)
include config.mk
endif

BUILD   := build
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wvla
CFLAGS  += $(CSTD) $(WARN) $(OPTFLAGS) $(DEP_CFLAGS) -MMD -MP -Isrc -DPF_DATADIR='"$(PREFIX)/share/pixelfix/models"'
LDLIBS  := $(DEP_LIBS)
LDFLAGS += $(SAN_LDFLAGS)

LIB_SRC := $(sort $(wildcard src/core/*.c src/io/*.c src/grid/*.c src/nn/*.c \
                             src/palette/*.c src/train/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIB := $(BUILD)/libpixelfix.a
BIN := pixelfix
PC  := $(BUILD)/pixelfix.pc

.PHONY: all check bench install uninstall clean demo tools $(PC)
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

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(PC): pixelfix.pc.in config.mk
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^#define PF_VERSION_STRING "\(.*\)"/\1/p' src/pixelfix.h)|' \
	    -e 's|@LIBS@|$(DEP_LIBS)|' $< > $@

$(BUILD)/tests/%: tests/%.c $(LIB) tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tools: $(TOOL_BIN)

# Every test binary's exit code is its verdict; tests/run.sh prints the
# closing "N passed, N failed" line.
check: $(BIN) $(TEST_BIN) $(TOOL_BIN)
	sh tests/run.sh $(TEST_BIN)

bench: $(BIN) $(BENCH_BIN)
	sh bench/run.sh $(BENCH_BIN)

demo: $(BIN)
	sh samples/demo.sh

install: $(BIN) $(PC)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/pixelfix/models
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pixelfix
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libpixelfix.a
	install -m 644 $(PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/pixelfix.pc
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

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(TOOL_BIN:=.d) $(BENCH_BIN:=.d)
