/* wpack.h: the compute precision of the CPU GEMMs, and weights packed once for it.
 *
 * The f32 path (the default) is the reference: f32 activations, weights converted to f32 as they are read,
 * OpenMP + OpenBLAS; fixtures compare against it. The bf16 path rounds the GEMM inputs to bf16 and
 * accumulates in f32 through oneDNN (AMX where the CPU has it, AVX-512 BF16 otherwise); norms, softmax,
 * RoPE, activations and the residual stream stay f32. Its weights are reordered once, when a model is
 * loaded, into the blocked layout oneDNN's kernel wants (f16 and f32 checkpoints rounded to bf16 on the
 * way), and the packed copy rides on the weight tensor (fc_tensor.pack): fc_op_linear uses it when it is
 * there, so model code keeps calling fc_op_linear unchanged.
 *
 * The precision is process-wide: a CLI sets it once from --precision before it loads a model; models
 * pack their weights at load when it is bf16. If the bf16 kernels are not usable (a build without
 * oneDNN, a CPU without AVX-512 BF16 or AMX, where oneDNN would only offer its slow reference code)
 * fc_precision_set refuses bf16 with a message that says why, and the caller stays on f32; the CLIs' option
 * (fc_precision_take_option) turns that into a one-line warning and runs f32.
 */
#ifndef FC_WPACK_H
#define FC_WPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/base/err.h"
#include "core/tensor/tensor.h"

typedef enum { FC_PREC_F32 = 0, FC_PREC_BF16, FC_PREC_COUNT } fc_precision;

/* "f32", "bf16". */
const char *fc_precision_name(fc_precision p);
/* The same names, NULL-terminated, indexed by fc_precision (the YAML configs' "precision" key). */
extern const char *const fc_precision_names[];
/* Parses "f32" / "bf16"; FC_EINVAL naming the accepted values otherwise. */
fc_err fc_precision_from_name(const char *name, fc_precision *out);

/* Sets the process-wide precision. bf16 fails with FC_EUNSUPPORTED (and a message saying what is missing)
 * when fc_precision_bf16_usable() is false; the precision then stays what it was. */
fc_err fc_precision_set(fc_precision p);
fc_precision fc_precision_get(void);
/* True when this build has oneDNN and the CPU has a bf16 GEMM kernel in it (AMX or AVX-512 BF16). */
bool fc_precision_bf16_usable(void);
/* One line on what the CPU offers and what each precision runs, for `fc-eval version`:
 * "cpu: avx512f avx512_bf16 (no amx_bf16); oneDNN 2.6.3: bf16 linear brg:avx512_core_bf16 ...". */
const char *fc_precision_describe(void);

/* The --precision option of both CLIs, which applies to every command that runs a model: finds
 * "--precision X" / "--precision=X" anywhere in argv[1..*argc), removes it (so the command's own parser never
 * sees it), and sets the precision. Without the option, the environment variable FC_PRECISION (if set) is
 * used. Fails (FC_EINVAL, message naming the option) on a bad value or when it is given twice. bf16 where
 * fc_precision_bf16_usable() is false is not an error: one warning line says why, and f32 stays in force. */
fc_err fc_precision_take_option(int *argc, char **argv);
/* Whether fc_precision_take_option found a value (the option or FC_PRECISION): then it wins over a config
 * file's precision: key, which applies only when this is false. */
bool fc_precision_chosen(void);

/* Packs the 2-D weight w (N, K) for the current precision: with bf16 a blocked bf16 copy is made and
 * hung on w->pack; with f32 it does nothing. Idempotent. The caller (the model) owns the pack and calls
 * fc_wpack_release before it drops w; copies of w made afterwards share the pack. */
fc_err fc_wpack_tensor(fc_tensor *w);
/* Frees w->pack (if any) and clears it; accepts NULL. */
void fc_wpack_release(fc_tensor *w);
/* Bytes held by the pack of w (0 without one). */
size_t fc_wpack_bytes(const fc_tensor *w);

#endif
