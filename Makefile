# ghee: `make run` boots ghee in QEMU, `make test` runs the whole suite.
# See README.md for the variables (DISKS, SMP, MEM, ACCEL, BOOT).

BUILD    := build
NEWLIB   := $(BUILD)/newlib/install/x86_64-elf
KERNEL   := $(BUILD)/kernel.elf
HOSTTOOL := $(BUILD)/ghee
HOSTTEST := $(BUILD)/tests/host_tests
DEPS_OK  := $(BUILD)/.deps-ok
HASHES   := $(BUILD)/hashes
CODECS   := $(BUILD)/codecs
LOADER   := $(BUILD)/efi/BOOTX64.EFI
ISO      := $(BUILD)/ghee.iso
EFI_IMG  := $(BUILD)/ghee-efi.img
DISK     := $(BUILD)/disk.img
DISK_SIZE ?= 1G

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
WARN    := -Wall -Wextra -Werror
DEFS    := -DGHEE_VERSION='"$(VERSION)"'
# The two files that print the version depend on a stamp rewritten only
# when `git describe` changes, so a rebuild after a commit (or an edit)
# prints the new version, and nothing else recompiles.
VERSION_STAMP := $(BUILD)/version

# Code shared by the kernel and the host programs.
FS_SRCS     ?= $(wildcard fs/*.c shell/cmd_fs.c)
COMMON_SRCS := $(wildcard lib/*.c) $(filter-out shell/cmd_fs.c,$(wildcard shell/*.c)) $(FS_SRCS)

# The compression libraries, from Debian's sources (scripts/build-codecs.sh):
# the same files go into the kernel and every host program.
ZSTD_SRCS  := $(addprefix zstd/common/,entropy_common.c error_private.c \
		fse_decompress.c xxhash.c zstd_common.c) \
	      $(addprefix zstd/compress/,fse_compress.c hist.c huf_compress.c \
		zstd_compress.c zstd_compress_literals.c \
		zstd_compress_sequences.c zstd_compress_superblock.c \
		zstd_double_fast.c zstd_fast.c zstd_lazy.c zstd_ldm.c zstd_opt.c) \
	      $(addprefix zstd/decompress/,huf_decompress.c zstd_ddict.c \
		zstd_decompress.c zstd_decompress_block.c)
ZLIB_SRCS  := $(addprefix zlib/,adler32.c crc32.c deflate.c inflate.c \
		inffast.c inftrees.c trees.c zutil.c)
LZO_SRCS   := lzo/src/lzo1x_1.c lzo/src/lzo1x_d2.c
CODEC_SRCS := $(ZSTD_SRCS) $(ZLIB_SRCS) $(LZO_SRCS)
# codec_objs DIR: the codec objects of one build flavour (k, h, a, t).
codec_objs  = $(patsubst %.c,$(BUILD)/$(1)/codecs/%.o,$(CODEC_SRCS))
# Their own configuration: no assembly, no legacy zstd formats, no
# tracing hooks, zlib without its file functions; warnings are upstream's.
CODEC_DEFS := -DZSTD_DISABLE_ASM -DZSTD_LEGACY_SUPPORT=0 -DZSTD_TRACE=0 \
	      -DDEBUGLEVEL=0 -DZ_SOLO -I$(CODECS)/lzo/include -I$(CODECS)/lzo/src -w

# --- kernel ------------------------------------------------------------
KERNEL_SRCS := $(shell find boot kernel drivers -name '*.c' -not -path 'boot/efi/*' 2>/dev/null) \
	       $(COMMON_SRCS)
KERNEL_ASMS := $(shell find boot kernel drivers -name '*.S' -not -path 'boot/efi/*' 2>/dev/null)
KERNEL_OBJS := $(patsubst %.c,$(BUILD)/k/%.o,$(KERNEL_SRCS)) \
	       $(patsubst %.S,$(BUILD)/k/%.o,$(KERNEL_ASMS)) $(call codec_objs,k)
GCC_INC := $(shell gcc -print-file-name=include)
KCFLAGS := -std=gnu11 -O2 -g $(WARN) $(DEFS) -ffreestanding -nostdinc \
	   -isystem $(NEWLIB)/include -isystem $(GCC_INC) \
	   -I$(HASHES) -I$(CODECS)/include -Iinclude -Ikernel/include -mno-red-zone \
	   -fno-pic -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
	   -fno-asynchronous-unwind-tables -MMD -MP

# --- host programs -------------------------------------------------------
SHIM_SRCS := $(wildcard tests/host/shim/*.c)
TEST_SRCS := $(wildcard tests/host/test_*.c) $(wildcard tests/host/crash_*.c) \
	     tests/host/test_main.c
HCFLAGS   := -std=gnu11 -g $(WARN) $(DEFS) -I$(HASHES) -I$(CODECS)/include -Iinclude \
	     -Itests/host/include -D_GNU_SOURCE -MMD -MP
ASAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN      := -fsanitize=thread -fno-omit-frame-pointer
HOSTTSAN  := $(BUILD)/tests/host_tests_tsan
HOSTFAST  := $(BUILD)/tests/host_tests_fast

.PHONY: FORCE all kernel host run test deps clean iso efi loader fuzz fuzz-receive bench tsan crash ioerr progs-corpus codec-srcs codec-defs defrag-scale balance-send-long stress-long

all: kernel host loader

deps: $(DEPS_OK)
$(DEPS_OK): scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

$(NEWLIB)/lib/libc.a: scripts/build-newlib.sh | $(DEPS_OK)
	@echo "newlib: building the C library (about a minute, once)"
	@scripts/build-newlib.sh $(BUILD)/newlib

# The hash libraries from Debian: xxhash.h, the BLAKE2 and SHA-256
# sources (fs/csum_type.c, lib/). Made before any compile; -MMD tracks
# their headers from then on.
$(HASHES)/.stamp: scripts/build-hashes.sh | $(DEPS_OK)
	@scripts/build-hashes.sh $(HASHES)

$(CODECS)/.stamp: scripts/build-codecs.sh | $(DEPS_OK)
	@scripts/build-codecs.sh $(CODECS)
$(addprefix $(CODECS)/,$(CODEC_SRCS)): | $(CODECS)/.stamp

# Two link passes give the kernel its own symbol table (kernel/ksym.c, for
# the profiler and backtraces): the first with an empty table, whose
# functions scripts/ksyms.sh lists; the second with that list. The table
# lies after the text, so no function moves between the passes: the
# second pass's list must equal the first's.
KSYMS := $(BUILD)/k/ksyms
KLD    = ld -nostdlib -static -z max-page-size=4096 -z noexecstack \
	 -T boot/linker.ld -o $(1) $(KERNEL_OBJS) $(2) $(NEWLIB)/lib/libc.a
kernel: $(KERNEL)
$(KERNEL): $(KERNEL_OBJS) boot/linker.ld $(NEWLIB)/lib/libc.a scripts/ksyms.sh
	@scripts/ksyms.sh > $(KSYMS)0.S && gcc -c $(KSYMS)0.S -o $(KSYMS)0.o
	@echo "  LD      $@ (pass 1: the symbol table)"
	@$(call KLD,$@.pass1,$(KSYMS)0.o)
	@scripts/ksyms.sh $@.pass1 > $(KSYMS).S && gcc -c $(KSYMS).S -o $(KSYMS).o
	@echo "  LD      $@"
	@$(call KLD,$@,$(KSYMS).o)
	@scripts/ksyms.sh $@ | cmp -s - $(KSYMS).S || \
		{ echo "kernel: functions moved between the link passes"; rm -f $@; exit 1; }
	@rm -f $@.pass1
	@size $@ | tail -n 1 | awk '{print "kernel: " $$4 " bytes (text+data+bss)"}'

$(BUILD)/k/%.o: %.c | $(NEWLIB)/lib/libc.a $(HASHES)/.stamp $(CODECS)/.stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(KCFLAGS) -c $< -o $@

$(BUILD)/k/codecs/%.o: $(CODECS)/%.c | $(NEWLIB)/lib/libc.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(KCFLAGS) $(CODEC_DEFS) -c $< -o $@

$(BUILD)/k/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(KCFLAGS) -c $< -o $@

$(VERSION_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:
$(foreach f,k h a t,$(BUILD)/$(f)/kernel/main.o $(BUILD)/$(f)/shell/commands.o): \
	$(VERSION_STAMP)

host: $(HOSTTOOL) $(HOSTTEST)

$(HOSTTOOL): $(patsubst %.c,$(BUILD)/h/%.o,$(COMMON_SRCS) $(SHIM_SRCS) $(wildcard tools/*.c)) $(call codec_objs,h)
	gcc -o $@ $^ -lpthread

$(HOSTTEST): $(patsubst %.c,$(BUILD)/a/%.o,$(COMMON_SRCS) $(SHIM_SRCS) $(TEST_SRCS)) $(call codec_objs,a)
	@mkdir -p $(dir $@)
	gcc $(ASAN) -o $@ $^ -lpthread

# The host tool under ASan and UBSan, or ThreadSanitizer, for running
# the interop model sequences sanitized:
# GHEE=build/ghee-asan tests/interop/write.sh (or ghee-tsan)
$(BUILD)/ghee-asan: $(patsubst %.c,$(BUILD)/a/%.o,$(COMMON_SRCS) $(SHIM_SRCS) $(wildcard tools/*.c)) $(call codec_objs,a)
	gcc $(ASAN) -o $@ $^ -lpthread

$(BUILD)/ghee-tsan: $(patsubst %.c,$(BUILD)/t/%.o,$(COMMON_SRCS) $(SHIM_SRCS) $(wildcard tools/*.c)) $(call codec_objs,t)
	gcc $(TSAN) -o $@ $^ -lpthread

$(BUILD)/h/%.o: %.c | $(DEPS_OK) $(HASHES)/.stamp $(CODECS)/.stamp
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@gcc $(HCFLAGS) -O2 -c $< -o $@

# The codecs under ASan without UBSan: upstream's unaligned loads and
# pointer arithmetic are theirs to answer for, memory errors are ours.
$(BUILD)/h/codecs/%.o: $(CODECS)/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@gcc $(HCFLAGS) $(CODEC_DEFS) -O2 -c $< -o $@

$(BUILD)/a/codecs/%.o: $(CODECS)/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  ASANCC  $<"
	@gcc $(HCFLAGS) $(CODEC_DEFS) -O1 -fsanitize=address -fno-omit-frame-pointer -c $< -o $@

$(BUILD)/t/codecs/%.o: $(CODECS)/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  TSANCC  $<"
	@gcc $(HCFLAGS) $(CODEC_DEFS) -O1 $(TSAN) -c $< -o $@

$(BUILD)/a/%.o: %.c | $(DEPS_OK) $(HASHES)/.stamp $(CODECS)/.stamp
	@mkdir -p $(dir $@)
	@echo "  ASANCC  $<"
	@gcc $(HCFLAGS) -O1 $(ASAN) -c $< -o $@

# The concurrent host tests under ThreadSanitizer (`make tsan`, and a
# suite of `make test`): the stress workload, the rwsem, fsck reading a
# commit while commits go on, xattrs and reflinks racing, namespace
# changes crossing each other, the shell's jobs
# and pipes, send while commits and relocation counts go on, dedupe beside
# writers and send, a balance paused, resumed and cancelled from another
# task, writers racing into a quota limit, reads beside balance, defrag
# and dedupe scan, a writer beside a data group's batches.
TSAN_TESTS := tests/host/test_fs_stress.c tests/host/test_rwsem.c \
	      tests/host/test_commit_root.c tests/host/test_inode_concurrent.c \
	      tests/host/test_namei_concurrent.c \
	      tests/host/test_shell.c tests/host/test_pipe.c \
	      tests/host/test_send.c tests/host/test_dedupe.c \
	      tests/host/test_send_sink.c tests/host/test_send_pipe.c \
	      tests/host/test_scrub.c tests/host/test_env.c \
	      tests/host/test_balance.c tests/host/test_balance_stop.c \
	      tests/host/test_balance_fixture.c tests/host/test_read_moves.c \
	      tests/host/test_qgroup_concurrent.c tests/host/test_qgroup_env.c \
	      tests/host/test_ctree_concurrent.c \
	      tests/host/test_relocation_batch.c tests/host/test_fs_read.c \
	      tests/host/test_main.c
tsan: $(HOSTTSAN)
	$(HOSTTSAN)

$(HOSTTSAN): $(patsubst %.c,$(BUILD)/t/%.o,$(COMMON_SRCS) $(SHIM_SRCS) $(TSAN_TESTS)) $(call codec_objs,t)
	@mkdir -p $(dir $@)
	gcc $(TSAN) -o $@ $^ -lpthread

$(BUILD)/t/%.o: %.c | $(DEPS_OK) $(HASHES)/.stamp $(CODECS)/.stamp
	@mkdir -p $(dir $@)
	@echo "  TSANCC  $<"
	@gcc $(HCFLAGS) -O1 $(TSAN) -c $< -o $@

# --- UEFI loader and boot images ------------------------------------------
# gnu-efi: build a PIC ELF shared object against its crt0 and linker
# script, then convert it to a PE efi-app.
EFI_CFLAGS := -std=gnu11 -O2 $(WARN) -I/usr/include/efi \
	      -I/usr/include/efi/x86_64 -fpic -ffreestanding \
	      -fno-stack-protector -fno-stack-check -fshort-wchar \
	      -mno-red-zone -maccumulate-outgoing-args
loader: $(LOADER)
$(LOADER): boot/efi/loader.c boot/boot_info.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	@echo "  EFICC   $<"
	@gcc $(EFI_CFLAGS) -c $< -o $(BUILD)/efi/loader.o
	@ld -shared -Bsymbolic -nostdlib -T /usr/lib/elf_x86_64_efi.lds \
		/usr/lib/crt0-efi-x86_64.o $(BUILD)/efi/loader.o \
		-o $(BUILD)/efi/loader.so -L/usr/lib -lefi -lgnuefi
	@objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym \
		-j .rel -j .rela -j '.rel.*' -j '.rela.*' -j .reloc \
		--target efi-app-x86_64 --subsystem=10 $(BUILD)/efi/loader.so $@

iso: $(ISO)
$(ISO): $(KERNEL) image/mkiso.sh
	image/mkiso.sh $(KERNEL) $@

efi: $(EFI_IMG)
$(EFI_IMG): $(LOADER) $(KERNEL) image/mkefi.sh
	image/mkefi.sh $(LOADER) $(KERNEL) $@

# --- running -------------------------------------------------------------
$(DISK): | image/mkdisk.sh $(DEPS_OK)
	image/mkdisk.sh $@ $(DISK_SIZE)

DISKS ?= $(DISK)
run: kernel $(if $(filter efi,$(BOOT)),$(LOADER)) \
	$(if $(filter $(DISK),$(DISKS)),$(DISK))
	@KERNEL=$(KERNEL) LOADER=$(LOADER) DISKS="$(DISKS)" SMP="$(SMP)" \
		MEM="$(MEM)" ACCEL="$(ACCEL)" BOOT="$(BOOT)" \
		FIRMWARE="$(FIRMWARE)" scripts/run.sh

test: kernel host loader $(HOSTTSAN)
	@tests/run-all.sh

# btrfs-progs' own test images, fetched once into build/progs/images
# (apt-get source btrfs-progs); `make test` compares ghee's fsck with
# `btrfs check` on them (tests/interop/progs_images.sh).
progs-corpus:
	@tests/interop/progs_corpus.sh

# Benchmarks: every executable bench/*.sh (the others are sourced by them),
# each printing RESULT lines and ghee/Linux ratios (bench/blk.sh: raw disk
# I/O beside Linux in the same QEMU).
bench: kernel $(HOSTTOOL)
	@for b in bench/*.sh; do [ ! -x $$b ] || $$b || exit; done

# The power-cut campaign (tests/host/crash.sh): every crash workload cut
# at every write (a balance, a quota-accounted drop and a shrink at
# sampled ones), every survivor through btrfs check, in two jobs; prints
# cuts, checks and findings per case and in total (make test runs a
# sample). About 12,600 cuts; about 70 minutes of CPU, so about 35 minutes on an idle
# 2-core machine (estimated from each case's CPU time per cut, measured
# on a shared machine).
crash: $(HOSTTEST)
	@tests/host/crash.sh $(HOSTTEST)

# An I/O error injected at every read, write and flush of each workload,
# once and from then on (make test tries a sample of them).
ioerr: $(HOSTTEST)
	GHEE_IOERR_ALL=1 $(HOSTTEST) ioerr

# The reference's defrag at full size: 128 MiB, 5,000 snapshots
# (tests/host/test_defrag.c; GHEE_DEFRAG_MIB, GHEE_DEFRAG_SNAPS pick others).
defrag-scale: $(HOSTFAST)
	GHEE_DEFRAG_SCALE=1 $(HOSTFAST) defrag.reference_scale

# The host tests built as the host tool is (-O2, no sanitizers), for the
# long campaigns whose time and memory are the figures (make defrag-scale).
$(HOSTFAST): $(patsubst %.c,$(BUILD)/h/%.o,$(COMMON_SRCS) $(SHIM_SRCS) $(TEST_SRCS)) $(call codec_objs,h)
	@mkdir -p $(dir $@)
	gcc -o $@ $^ -lpthread

# The stress workload's long shape (tests/host/test_fs_stress.c): each
# case with 20 times the operations (GHEE_STRESS_LONG).
stress-long: $(HOSTTEST)
	GHEE_STRESS_LONG=1 $(HOSTTEST) fs_stress

# Send beside balance at full size (tests/qemu/test_balance_send.py): the
# btrfs/252 shape with 24 snapshots and a random seed (printed), the
# btrfs/187 shape with 20,000 files and 20 rounds, at -smp 2 and 4.
balance-send-long: kernel
	BALANCE_SEND_LONG=1 QEMU_TEST_TIMEOUT=7200 tests/qemu/run.py balance_send

# Fuzz every libFuzzer target (tests/host/fuzz.sh lists them) for
# FUZZ_SECONDS in all, shared among them by weight, or only those in
# FUZZ_TARGETS; each corpus is kept in build/fuzz/corpus (make test: 60 s).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
fuzz: | $(DEPS_OK) $(HASHES)/.stamp $(CODECS)/.stamp
	@tests/host/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Fuzz receive and receive --dump only, for FUZZ_SECONDS.
fuzz-receive: | $(DEPS_OK) $(HASHES)/.stamp $(CODECS)/.stamp
	@tests/host/fuzz.sh $(FUZZ_SECONDS) receive receive_dump

# The codec sources and their flags, for tests/host/fuzz_lib.sh.
codec-srcs:
	@echo $(addprefix $(CODECS)/,$(CODEC_SRCS))
codec-defs:
	@echo $(CODEC_DEFS)

clean:
	rm -rf $(BUILD)/k $(BUILD)/h $(BUILD)/a $(BUILD)/t $(BUILD)/tests $(BUILD)/efi \
		$(KERNEL) $(HOSTTOOL) $(ISO) $(EFI_IMG)

-include $(shell find $(BUILD)/k $(BUILD)/h $(BUILD)/a $(BUILD)/t -name '*.d' 2>/dev/null)
