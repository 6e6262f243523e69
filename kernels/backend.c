/* backend.c: the CUDA backend as the core sees it (kernels/backend.h, kernels/cuda/ops_table.h): looked
 * for once, at the first CUDA request, and then either a filled table of ops or the reason there is none.
 *
 * Order of the checks, cheapest first, so that a CPU machine never maps a CUDA library:
 *   1. built with CUDA at all (FC_CUDA, set by the Makefile when nvcc is found and CUDA != 0);
 *   2. FC_CUDA=0 in the environment turns it off;
 *   3. a GPU: the NVIDIA driver's /proc/driver/nvidia/gpus/<bus id>, or a /dev/nvidia<N> node (what
 *      container runtimes pass through); skipped when FC_CUDA_BACKEND names the library;
 *   4. the library: $FC_CUDA_BACKEND, else libfastcache-cuda.so beside the executable, in its parent
 *      (build/rel/tests/test_x finds build/rel/), or in ../lib;
 *   5. dlopen (which brings libcudart and cuBLAS) and its fc_cuda_backend_register: the ABI matches and
 *      the CUDA runtime sees a device.
 * The result is process-wide state, like the driver it stands for: one library, loaded once.
 */
#include "kernels/backend.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/ops_table.h"

#ifdef FC_CUDA
#include <dirent.h>
#include <dlfcn.h>
#include <unistd.h>
#endif

static struct {
    pthread_once_t once;
    bool loaded;
    fc_cuda_ops ops;
    char status[PATH_MAX + 512]; /* the device and library, or why there is no backend */
} backend = {.once = PTHREAD_ONCE_INIT};

#ifdef FC_CUDA
/* True when the NVIDIA driver lists a GPU. Reads two directories: microseconds, and no library loaded. */
static bool gpu_present(void) {
    DIR *d = opendir("/proc/driver/nvidia/gpus");
    struct dirent *e;
    bool found = false;
    if (d) {
        while (!found && (e = readdir(d))) found = e->d_name[0] != '.';
        closedir(d);
    }
    if (!found && (d = opendir("/dev"))) {
        while (!found && (e = readdir(d)))
            found = !strncmp(e->d_name, "nvidia", 6) && e->d_name[6] >= '0' && e->d_name[6] <= '9';
        closedir(d);
    }
    return found;
}

/* The library's path into out (PATH_MAX bytes); false with the reason in backend.status. */
static bool find_library(char *out) {
    const char *env = getenv("FC_CUDA_BACKEND");
    if (env && *env) {
        snprintf(out, PATH_MAX, "%s", env);
        return true;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
    if (!slash) {
        snprintf(backend.status, sizeof backend.status,
                 "no backend loaded: cannot tell where this executable is (/proc/self/exe); set FC_CUDA_BACKEND to the library's path");
        return false;
    }
    *slash = 0;
    static const char *const dirs[] = {"", "/..", "/../lib"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (snprintf(out, PATH_MAX, "%s%s/" FC_CUDA_LIBRARY, exe, dirs[i]) >= PATH_MAX) continue;
        if (access(out, R_OK) == 0) return true;
    }
    snprintf(backend.status, sizeof backend.status,
             "no backend loaded: no %s in %s, its parent or ../lib (make builds it where nvcc is found; FC_CUDA_BACKEND names another)",
             FC_CUDA_LIBRARY, exe);
    return false;
}

static void load(void) {
    if (getenv("FC_CUDA") && !strcmp(getenv("FC_CUDA"), "0")) {
        snprintf(backend.status, sizeof backend.status, "no backend loaded: turned off by FC_CUDA=0");
        return;
    }
    const char *env = getenv("FC_CUDA_BACKEND");
    if (!(env && *env) && !gpu_present()) {
        snprintf(backend.status, sizeof backend.status,
                 "no backend loaded: no NVIDIA GPU (no /proc/driver/nvidia/gpus/*, no /dev/nvidia<N>)");
        return;
    }
    char path[PATH_MAX];
    if (!find_library(path)) return;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(backend.status, sizeof backend.status, "no backend loaded: %s", dlerror());
        return;
    }
    fc_cuda_register_fn reg;
    *(void **)&reg = dlsym(lib, FC_CUDA_REGISTER);
    if (!reg) {
        snprintf(backend.status, sizeof backend.status, "no backend loaded: %s has no %s (not a FastCache backend?)",
                 path, FC_CUDA_REGISTER);
        dlclose(lib);
        return;
    }
    /* the library reports through fc_err_set, which overwrites this thread's message: keep the caller's */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", fc_errmsg());
    fc_cuda_ops ops;
    memset(&ops, 0, sizeof ops);
    fc_err e = reg(&ops, FC_CUDA_ABI, (uint32_t)sizeof ops);
    if (e || ops.abi != FC_CUDA_ABI || ops.size != sizeof ops) {
        snprintf(backend.status, sizeof backend.status, "no backend loaded: %s: %s", path,
                 e ? fc_errmsg() : "the library filled a table of another ABI");
        dlclose(lib); /* unmaps cuBLAS again: a machine without a usable device keeps the CPU footprint */
    } else {
        backend.ops = ops;
        backend.loaded = true;
        snprintf(backend.status, sizeof backend.status, "%s; backend %s", ops.describe(), path);
    }
    fc_err_set(FC_OK, "%s", saved);
}
#else
static void load(void) {
    snprintf(backend.status, sizeof backend.status, "no backend loaded: built without CUDA (make CUDA=0, no nvcc, or the sanitizer build)");
}
#endif

static const fc_cuda_ops *loaded(void) {
    pthread_once(&backend.once, load);
    return backend.loaded ? &backend.ops : NULL;
}

fc_err fc_cuda_ops_get(const char *op, const fc_cuda_ops **out) {
    *out = loaded();
    if (*out) return FC_OK;
    return fc_err_set(FC_EUNSUPPORTED, "%s: tensors on cuda, but %s", op, backend.status);
}

bool fc_cuda_built(void) {
#ifdef FC_CUDA
    return true;
#else
    return false;
#endif
}

int fc_cuda_device_count(void) {
    const fc_cuda_ops *cu = loaded();
    return cu ? cu->device_count() : 0;
}

const char *fc_cuda_describe(void) {
    loaded();
    return backend.status;
}

/* ---- memory: forwarded to the library, refused with the reason without one ---- */

fc_err fc_cuda_alloc(void **ptr, size_t bytes) {
    *ptr = NULL;
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("cuda alloc", &cu));
    return cu->alloc(ptr, bytes);
}

void fc_cuda_free(void *ptr) {
    /* a device pointer exists only if the backend made it, so it is loaded whenever ptr is not NULL */
    if (ptr && backend.loaded) backend.ops.free(ptr);
}

fc_err fc_cuda_memset0(void *ptr, size_t bytes) {
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("cuda memset", &cu));
    return cu->memset0(ptr, bytes);
}

fc_err fc_cuda_memcpy(void *dst, bool dst_on_device, const void *src, bool src_on_device, size_t bytes) {
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("cuda memcpy", &cu));
    return cu->memcpy(dst, dst_on_device, src, src_on_device, bytes);
}

fc_err fc_cuda_sync(void) {
    const fc_cuda_ops *cu;
    FC_TRY(fc_cuda_ops_get("cuda sync", &cu));
    return cu->sync();
}
