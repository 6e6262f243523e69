# FastCache in C: the one entry point.
#   make            build bin/fc-train and bin/fc-eval (CUDA backend too when nvcc is found; CUDA=0 turns it off)
#   make test       every test that needs no GPU (release + ASan/UBSan builds); ends with "N passed, N failed"
#   make test-gpu   the GPU tests (each CUDA op against its CPU twin, device tensors and KV pool); skipped without a GPU
#   make demo       the main job end to end on the bundled defaults
#   make bench      benchmarks against peers (ratios)      make fuzz   libFuzzer targets, bounded time
#   make fixtures   regenerate test fixtures with the Python reference libraries (tools/, needs PyPI)
#   make deps       install the Debian packages the build needs (run by demo/test when something is missing)

BUILD   ?= build
BIN     ?= bin
CC      ?= gcc
SHARED  ?= ../shared
PYTHON  ?= python3
CUDA    ?= auto
CUDA_ARCH ?= 90

CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -fopenmp -MMD -MP
CFLAGS  ?= -O2 -g -march=native
LDLIBS  = -lopenblas -lcjson -lyaml -lpcre2-8 -ljpeg -lpng -lm -lpthread -ldl
LDFLAGS_COMMON = -fopenmp

# ---- probes: one line each, degrade instead of failing ----
HAVE_DEPS := $(shell ./tools/check-deps.sh --quiet >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_DEPS),)
  $(info deps: some Debian packages are missing; 'make deps' installs them (make test/demo do it for you))
endif

# oneDNN (libdnnl-dev) brings the bf16 GEMMs of --precision bf16; without it the build is f32 only
DNNL ?= $(shell test -f /usr/include/oneapi/dnnl/dnnl.h && echo 1)
ifeq ($(DNNL),1)
  CFLAGS_COMMON += -DFC_DNNL=1
  LDLIBS += -ldnnl
else
  $(info dnnl: building without oneDNN (DNNL=0, or no libdnnl-dev headers): --precision bf16 will run f32)
endif

NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(CUDA),0)
  USE_CUDA :=
  $(info cuda: disabled (CUDA=0), building CPU only)
else ifeq ($(NVCC),)
  ifeq ($(CUDA),1)
    $(error cuda: CUDA=1 but nvcc was not found)
  endif
  USE_CUDA :=
  $(info cuda: nvcc not found, building CPU only)
else
  USE_CUDA := 1
  CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
  $(info cuda: $(NVCC) (sm_$(CUDA_ARCH)); GPU use is decided at run time)
endif

# ---- sources ----
# run-config schemas (train/*_config.c, eval/*_config.c) go into the library: both CLIs and the tests use them;
# so does the rest of train/ (optimizer, schedules, run state, the trainer) except its entry points
# (train/main.c, train/cmd_*.c), so unit tests can reach it
TRAIN_MAIN_C := $(sort $(wildcard train/main.c train/cmd_*.c))
CONFIG_C := $(sort $(wildcard eval/*_config.c) $(filter-out $(TRAIN_MAIN_C),$(wildcard train/*.c)))
LIB_C   := $(sort $(shell find core kernels data -name '*.c' 2>/dev/null) $(CONFIG_C))
LIB_CU  := $(sort $(wildcard kernels/cuda/*.cu))
EVAL_C  := $(filter-out $(CONFIG_C),$(sort $(wildcard eval/*.c)))
TRAIN_C := $(TRAIN_MAIN_C)
TEST_C  := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_C  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# The CUDA code is a library of its own, loaded with dlopen at run time only where a GPU is present
# (kernels/backend.c): the executables link neither cudart nor cuBLAS. They export the few core functions
# the library calls (HOST_SYMS) and look for it beside themselves, so it is copied into $(BIN) too.
ifeq ($(USE_CUDA),1)
  CU_OBJS      := $(LIB_CU:%.cu=$(BUILD)/rel/%.o)
  CUDA_SO      := $(BUILD)/rel/libfastcache-cuda.so
  CUDA_SO_BIN  := $(BIN)/libfastcache-cuda.so
  CUDA_SO_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lcublas -lcublasLt
  HOST_SYMS    := kernels/cuda/host-symbols.list
  HOST_LDFLAGS := -Wl,--dynamic-list=$(HOST_SYMS)
  REL_DEFS     := -DFC_CUDA=1
else
  CU_OBJS      :=
  CUDA_SO      :=
  CUDA_SO_BIN  :=
  HOST_SYMS    :=
  HOST_LDFLAGS :=
endif

REL_OBJS  := $(LIB_C:%.c=$(BUILD)/rel/%.o)
ASAN_OBJS := $(LIB_C:%.c=$(BUILD)/asan/%.o)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all test test-gpu demo bench fuzz fixtures deps clean plots check-deps unit-bins
all: $(BIN)/fc-eval $(BIN)/fc-train $(CUDA_SO_BIN)

# ---- release build ----
$(BUILD)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(REL_DEFS) $(CFLAGS) -c $< -o $@

$(BUILD)/rel/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -std=c++17 -I. -D_GNU_SOURCE -DFC_CUDA=1 -arch=sm_$(CUDA_ARCH) -Xcompiler -Wall,-Wextra,-Werror,-fPIC -c $< -o $@

# nvcc writes no dependency files: every CUDA object depends on the headers the .cu files include
$(CU_OBJS): $(wildcard kernels/cuda/*.h kernels/cuda/*.cuh) kernels/ops.h core/base/err.h core/tensor/dtype.h

# the backend library: its one exported symbol is fc_cuda_backend_register (kernels/cuda/ops_table.h)
$(CUDA_SO): $(CU_OBJS) kernels/cuda/backend.map
	$(CXX) -shared -Wl,--version-script=kernels/cuda/backend.map -o $@ $(filter %.o,$^) $(CUDA_SO_LIBS)

$(CUDA_SO_BIN): $(CUDA_SO)
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/libfastcache.a: $(REL_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/fc-eval: $(EVAL_C:%.c=$(BUILD)/rel/%.o) $(BUILD)/libfastcache.a $(HOST_SYMS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(BIN)/fc-train: $(TRAIN_C:%.c=$(BUILD)/rel/%.o) $(BUILD)/libfastcache.a $(HOST_SYMS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

# ---- sanitizer build (CPU only: the CUDA runtime and ASan do not mix) ----
$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -g $(SAN_FLAGS) -c $< -o $@

$(BUILD)/asan/libfastcache.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/bin/fc-eval: $(EVAL_C:%.c=$(BUILD)/asan/%.o) $(BUILD)/asan/libfastcache.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/bin/fc-train: $(TRAIN_C:%.c=$(BUILD)/asan/%.o) $(BUILD)/asan/libfastcache.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# ---- tests ----
REL_TESTS  := $(TEST_C:tests/unit/%.c=$(BUILD)/rel/tests/%)
ASAN_TESTS := $(TEST_C:tests/unit/%.c=$(BUILD)/asan/tests/%)

$(BUILD)/rel/tests/%: $(BUILD)/rel/tests/unit/%.o $(BUILD)/libfastcache.a $(HOST_SYMS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)

$(BUILD)/asan/tests/%: $(BUILD)/asan/tests/unit/%.o $(BUILD)/asan/libfastcache.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_COMMON) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

unit-bins: all $(REL_TESTS) $(ASAN_TESTS) $(BUILD)/asan/bin/fc-eval $(BUILD)/asan/bin/fc-train

test: check-deps
	@$(MAKE) --no-print-directory unit-bins
	@BUILD=$(BUILD) BIN=$(BIN) FC_SHARED=$(SHARED) ./tests/run.sh

# the tests whose cases need a GPU (their names contain "cuda"), through the dlopen'd backend; where no
# backend loads they are counted as skipped, with the reason (REQUIRE_GPU=1 makes that a failure)
test-gpu: check-deps
	@$(MAKE) --no-print-directory all $(REL_TESTS)
	@BUILD=$(BUILD) BIN=$(BIN) FC_SHARED=$(SHARED) REQUIRE_GPU=$(REQUIRE_GPU) ./tests/run-gpu.sh

# ---- demo, bench, fuzz, fixtures ----
demo: check-deps
	@$(MAKE) --no-print-directory all
	@SHARED=$(SHARED) BIN=$(BIN) ./tools/demo.sh

bench: all
	@SHARED=$(SHARED) BIN=$(BIN) BUILD=$(BUILD) PYTHON=$(PYTHON) ./bench/run.sh

FUZZ_SECONDS ?= 60
fuzz:
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) ./tests/fuzz/run.sh

fixtures:
	@PYTHON=$(PYTHON) SHARED=$(SHARED) ./tools/make-fixtures.sh

check-deps:
	@./tools/check-deps.sh --quiet || ./tools/install-deps.sh

deps:
	@./tools/install-deps.sh

plots:
	@$(MAKE) --no-print-directory -C plots

clean:
	rm -rf $(BUILD) $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
