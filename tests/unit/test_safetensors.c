/* test_safetensors.c: the safetensors reader against files the Python library wrote, the writer against
 * the library's bytes, sharded checkpoints, and every header corruption the reader must refuse. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io/safetensors.h"
#include "tests/test.h"

#define FIX "tests/fixtures/safetensors"

/* ---- helpers ---- */

static char tmpdir[256];

static const char *tmp_dir(void) {
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/fc_test_st_XXXXXX");
        if (!mkdtemp(tmpdir)) tmpdir[0] = '\0';
    }
    return tmpdir;
}

static const char *tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", tmp_dir(), name);
    return buf;
}

static bool write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)len + 1);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* A file of 8-byte length + header + data_len bytes of data; len_override replaces the length when not 0. */
static bool write_st(const char *path, const char *header, size_t data_len, uint64_t len_override) {
    size_t hl = strlen(header);
    size_t n = 8 + hl + data_len;
    unsigned char *buf = calloc(1, n);
    uint64_t len = len_override ? len_override : hl;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(len >> (8 * i));
    memcpy(buf + 8, header, hl);
    bool ok = write_bytes(path, buf, n);
    free(buf);
    return ok;
}

static bool shape_is(const fc_st_entry *e, int ndim, const int64_t *want) {
    if (e->ndim != ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (e->shape[i] != want[i]) return false;
    return true;
}

/* ---- reading what Python wrote ---- */

static void test_read_python_every_dtype(fc_test *t) {
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, FIX "/dtypes.safetensors") == FC_OK, "%s", fc_errmsg());
    FC_CHECK(t, f.n_entries == 9, "%d entries", f.n_entries);
    FC_CHECK(t, fc_st_meta(&f, "format") && !strcmp(fc_st_meta(&f, "format"), "pt"), "meta format");
    FC_CHECK(t, fc_st_meta(&f, "note") && !strcmp(fc_st_meta(&f, "note"), "fastcache fixture"), "meta note");
    FC_CHECK(t, fc_st_meta(&f, "absent") == NULL && fc_st_find(&f, "absent") == NULL, "absent");
    for (int i = 1; i < f.n_entries; i++)
        FC_CHECK(t, strcmp(f.entries[i - 1].name, f.entries[i].name) < 0, "entries not sorted by name");

    const fc_st_entry *e = fc_st_find(&f, "f32");
    FC_CHECK(t, e && e->st_dtype == FC_ST_F32 && shape_is(e, 2, (int64_t[]){2, 3}), "f32 entry");
    fc_tensor v;
    FC_CHECK(t, fc_st_tensor(e, &v) == FC_OK && v.dtype == FC_DTYPE_F32 && !v.owns, "%s", fc_errmsg());
    for (int i = 0; i < 6; i++) FC_CHECK(t, ((const float *)v.data)[i] == -1.0f + 0.5f * (float)i, "f32[%d]", i);

    e = fc_st_find(&f, "f16");
    FC_CHECK(t, e && e->st_dtype == FC_ST_F16 && shape_is(e, 1, (int64_t[]){4}), "f16 entry");
    for (int i = 0; i < 4; i++)
        FC_CHECK(t, fc_f16_to_f32(((const uint16_t *)e->data)[i]) == 1.0f + 0.25f * (float)i, "f16[%d]", i);

    e = fc_st_find(&f, "bf16");
    FC_CHECK(t, e && e->st_dtype == FC_ST_BF16 && shape_is(e, 1, (int64_t[]){3}), "bf16 entry");
    FC_CHECK(t, fc_st_tensor(e, &v) == FC_OK && v.dtype == FC_DTYPE_BF16, "%s", fc_errmsg());
    for (int i = 0; i < 3; i++)
        FC_CHECK(t, fc_bf16_to_f32(((const uint16_t *)e->data)[i]) == -2.0f * (float)i, "bf16[%d]", i);

    e = fc_st_find(&f, "i32");
    FC_CHECK(t, e && e->st_dtype == FC_ST_I32 && shape_is(e, 2, (int64_t[]){2, 2}), "i32 entry");
    for (int i = 0; i < 4; i++) FC_CHECK(t, ((const int32_t *)e->data)[i] == 1000 * i - 1500, "i32[%d]", i);

    e = fc_st_find(&f, "i64");
    FC_CHECK(t, e && e->st_dtype == FC_ST_I64 && e->end - e->begin == 24, "i64 entry");
    int64_t i64[3];
    memcpy(i64, e->data, sizeof i64);
    FC_CHECK(t, i64[0] == -((int64_t)1 << 40) && i64[1] == 0 && i64[2] == ((int64_t)1 << 40) + 7, "i64 values");
    FC_CHECK(t, fc_st_tensor(e, &v) == FC_EUNSUPPORTED && strstr(fc_errmsg(), "I64"), "i64 refused: %s", fc_errmsg());

    e = fc_st_find(&f, "u8");
    const unsigned char u8[5] = {0, 1, 127, 128, 255};
    FC_CHECK(t, e && e->st_dtype == FC_ST_U8 && !memcmp(e->data, u8, 5), "u8");
    e = fc_st_find(&f, "bool");
    const unsigned char b[4] = {1, 0, 0, 1};
    FC_CHECK(t, e && e->st_dtype == FC_ST_BOOL && !memcmp(e->data, b, 4), "bool");

    e = fc_st_find(&f, "scalar");
    FC_CHECK(t, e && e->ndim == 0 && e->end - e->begin == 4, "scalar entry");
    FC_CHECK(t, fc_st_tensor(e, &v) == FC_OK && v.ndim == 0 && *(const float *)v.data == 3.5f, "scalar value");

    e = fc_st_find(&f, "empty");
    FC_CHECK(t, e && shape_is(e, 2, (int64_t[]){0, 3}) && e->begin == e->end, "empty entry");
    FC_CHECK(t, fc_st_tensor(e, &v) == FC_OK && fc_tensor_numel(&v) == 0, "empty tensor");
    fc_st_close(&f);
    fc_st_close(&f); /* twice is harmless */
}

static void test_open_memory_matches_file(fc_test *t) {
    size_t n;
    unsigned char *buf = read_bytes(FIX "/dtypes.safetensors", &n);
    FC_CHECK(t, buf, "read fixture");
    fc_st_file f;
    fc_err e = fc_st_open_memory(&f, "mem", buf, n);
    FC_CHECK(t, e == FC_OK && f.n_entries == 9 && !f.owns_map, "%s", fc_errmsg());
    const fc_st_entry *x = fc_st_find(&f, "i32");
    bool ok = x && x->data == buf + 8 + f.header_len + x->begin;
    fc_st_close(&f);
    e = fc_st_open_memory(&f, "mem-truncated", buf, n - 1);
    bool refused = e == FC_EFORMAT && strstr(fc_errmsg(), "mem-truncated") && strstr(fc_errmsg(), "'bool'");
    free(buf);
    FC_CHECK(t, ok, "entry data points into the caller's buffer (zero copy)");
    FC_CHECK(t, refused, "truncated buffer: %s", fc_errmsg());
}

/* ---- writer ---- */

static fc_err add_writer_ref(fc_st_writer *w) {
    static const float f32[6] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};
    static const int32_t i32[3] = {7, -8, 9};
    static const float scalar = 3.5f;
    uint16_t bf16[4], f16[5], c16 = fc_f32_to_f16(-1.5f);
    for (int i = 0; i < 4; i++) bf16[i] = fc_f32_to_bf16(-2.0f * (float)i);
    for (int i = 0; i < 5; i++) f16[i] = fc_f32_to_f16(1.0f + 0.25f * (float)i);
    /* the writer borrows pointers until write: keep them in statics */
    static uint16_t s_bf16[4], s_f16[5], s_c16;
    memcpy(s_bf16, bf16, sizeof bf16);
    memcpy(s_f16, f16, sizeof f16);
    s_c16 = c16;
    /* added in an order unlike the file's, so the test sees the writer sort */
    FC_TRY(fc_st_writer_add(w, "c.f16", FC_DTYPE_F16, 1, (int64_t[]){1}, &s_c16));
    FC_TRY(fc_st_writer_add(w, "w.i32", FC_DTYPE_I32, 1, (int64_t[]){3}, i32));
    FC_TRY(fc_st_writer_add(w, "b.f16", FC_DTYPE_F16, 1, (int64_t[]){5}, s_f16));
    FC_TRY(fc_st_writer_add(w, "w.f32", FC_DTYPE_F32, 2, (int64_t[]){2, 3}, f32));
    FC_TRY(fc_st_writer_add(w, "empty", FC_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL));
    FC_TRY(fc_st_writer_add(w, "a.bf16", FC_DTYPE_BF16, 2, (int64_t[]){2, 2}, s_bf16));
    FC_TRY(fc_st_writer_add(w, "scalar", FC_DTYPE_F32, 0, NULL, &scalar));
    return fc_st_writer_meta(w, "format", "pt");
}

static void test_writer_bytes_equal_python(fc_test *t) {
    fc_st_writer *w;
    char out[512];
    FC_CHECK(t, fc_st_writer_create(&w) == FC_OK, "create");
    fc_err e = add_writer_ref(w);
    if (e == FC_OK) e = fc_st_writer_write(w, tmp_path(out, sizeof out, "ours.safetensors"));
    fc_st_writer_free(w);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    size_t n_ours, n_ref;
    unsigned char *ours = read_bytes(out, &n_ours), *ref = read_bytes(FIX "/writer_ref.safetensors", &n_ref);
    bool same = ours && ref && n_ours == n_ref && !memcmp(ours, ref, n_ref);
    size_t at = 0;
    while (ours && ref && at < n_ours && at < n_ref && ours[at] == ref[at]) at++;
    free(ours);
    free(ref);
    FC_CHECK(t, same, "bytes differ from the Python library's: sizes %zu vs %zu, first difference at %zu", n_ours,
             n_ref, at);
}

static void test_roundtrip_every_written_dtype(fc_test *t) {
    float f32[5] = {1.0f, -2.5f, 3.25f, 1e-8f, -0.0f};
    int32_t i32[4] = {INT32_MIN, -1, 0, INT32_MAX};
    uint16_t f16[3], bf16[6];
    for (int i = 0; i < 3; i++) f16[i] = fc_f32_to_f16(0.1f * (float)(i + 1));
    for (int i = 0; i < 6; i++) bf16[i] = fc_f32_to_bf16(100.0f - (float)i);
    fc_tensor tv = fc_tensor_view(bf16, FC_DTYPE_BF16, FC_DEVICE_CPU, 3, (int64_t[]){1, 2, 3});
    fc_st_writer *w;
    FC_CHECK(t, fc_st_writer_create(&w) == FC_OK, "create");
    fc_err e = fc_st_writer_add(w, "f32", FC_DTYPE_F32, 1, (int64_t[]){5}, f32);
    if (!e) e = fc_st_writer_add(w, "i32", FC_DTYPE_I32, 2, (int64_t[]){2, 2}, i32);
    if (!e) e = fc_st_writer_add(w, "f16", FC_DTYPE_F16, 1, (int64_t[]){3}, f16);
    if (!e) e = fc_st_writer_add_tensor(w, "layer.0.bf16", &tv);
    if (!e) e = fc_st_writer_add(w, "empty", FC_DTYPE_BF16, 1, (int64_t[]){0}, NULL);
    if (!e) e = fc_st_writer_meta(w, "step", "1");
    if (!e) e = fc_st_writer_meta(w, "step", "200"); /* last value wins */
    if (!e) e = fc_st_writer_meta(w, "quote\"d", "line\nbreak \\ tab\t caf\xc3\xa9 \x01");
    char path[512];
    if (!e) e = fc_st_writer_write(w, tmp_path(path, sizeof path, "rt.safetensors"));
    fc_st_writer_free(w);
    FC_CHECK(t, e == FC_OK, "%s", fc_errmsg());
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK, "%s", fc_errmsg());
    bool ok = f.n_entries == 5 && (8 + f.header_len) % 8 == 0;
    const fc_st_entry *x = fc_st_find(&f, "f32");
    ok = ok && x && x->st_dtype == FC_ST_F32 && !memcmp(x->data, f32, sizeof f32);
    x = fc_st_find(&f, "i32");
    ok = ok && x && x->st_dtype == FC_ST_I32 && shape_is(x, 2, (int64_t[]){2, 2}) && !memcmp(x->data, i32, sizeof i32);
    x = fc_st_find(&f, "f16");
    ok = ok && x && x->st_dtype == FC_ST_F16 && !memcmp(x->data, f16, sizeof f16);
    x = fc_st_find(&f, "layer.0.bf16");
    ok = ok && x && x->st_dtype == FC_ST_BF16 && shape_is(x, 3, (int64_t[]){1, 2, 3}) &&
         !memcmp(x->data, bf16, sizeof bf16);
    x = fc_st_find(&f, "empty");
    ok = ok && x && x->begin == x->end && x->ndim == 1 && x->shape[0] == 0;
    const char *m1 = fc_st_meta(&f, "step"), *m2 = fc_st_meta(&f, "quote\"d");
    bool meta = m1 && !strcmp(m1, "200") && m2 && !strcmp(m2, "line\nbreak \\ tab\t caf\xc3\xa9 \x01") && f.n_meta == 2;
    fc_st_close(&f);
    FC_CHECK(t, ok, "tensors differ after the round trip");
    FC_CHECK(t, meta, "metadata differs after the round trip");
}

static void test_writer_refuses_bad_tensors(fc_test *t) {
    fc_st_writer *w;
    float x = 1;
    FC_CHECK(t, fc_st_writer_create(&w) == FC_OK, "create");
    fc_err e1 = fc_st_writer_add(w, "a", FC_DTYPE_F32, 1, (int64_t[]){1}, &x);
    fc_err e2 = fc_st_writer_add(w, "a", FC_DTYPE_F32, 1, (int64_t[]){1}, &x);
    bool dup = strstr(fc_errmsg(), "'a' added twice") != NULL;
    fc_err e3 = fc_st_writer_add(w, "b", FC_DTYPE_F32, 1, (int64_t[]){-1}, &x);
    bool neg = strstr(fc_errmsg(), "negative dim -1") != NULL;
    fc_err e4 = fc_st_writer_add(w, "__metadata__", FC_DTYPE_F32, 0, NULL, &x);
    fc_err e5 = fc_st_writer_add(w, "c", FC_DTYPE_COUNT, 0, NULL, &x);
    fc_err e6 = fc_st_writer_add(w, "", FC_DTYPE_F32, 0, NULL, &x);
    fc_st_writer_free(w);
    fc_st_writer_free(NULL);
    FC_CHECK(t, e1 == FC_OK && e2 == FC_EINVAL && dup, "duplicate: %d", e2);
    FC_CHECK(t, e3 == FC_EINVAL && neg, "negative dim: %d", e3);
    FC_CHECK(t, e4 == FC_EINVAL && e5 == FC_EUNSUPPORTED && e6 == FC_EINVAL, "reserved/dtype/empty: %d %d %d", e4, e5,
             e6);
}

static int count_tmp_files(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp\\.'", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

static void test_writer_failure_leaves_target_untouched(fc_test *t) {
    float x[2] = {1, 2};
    fc_st_writer *w;
    FC_CHECK(t, fc_st_writer_create(&w) == FC_OK, "create");
    FC_CHECK(t, fc_st_writer_add(w, "x", FC_DTYPE_F32, 1, (int64_t[]){2}, x) == FC_OK, "%s", fc_errmsg());
    char p[512], q[512];
    /* a folder that does not exist: the temporary file cannot even be created */
    fc_err e1 = fc_st_writer_write(w, tmp_path(p, sizeof p, "no/such/dir/x.safetensors"));
    bool m1 = strstr(fc_errmsg(), "cannot create") != NULL;
    /* the target is a non-empty directory: the rename fails after the data is written */
    tmp_path(q, sizeof q, "target_dir");
    mkdir(q, 0755);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", q);
    write_bytes(inner, "k", 1);
    fc_err e2 = fc_st_writer_write(w, q);
    bool m2 = strstr(fc_errmsg(), "cannot rename") != NULL;
    struct stat st;
    bool untouched = stat(inner, &st) == 0 && st.st_size == 1;
    int left = count_tmp_files(tmp_dir());
    /* success replaces an existing file */
    tmp_path(p, sizeof p, "replace.safetensors");
    write_bytes(p, "old", 3);
    fc_err e3 = fc_st_writer_write(w, p);
    fc_st_writer_free(w);
    fc_st_file f;
    fc_err e4 = fc_st_open(&f, p);
    bool replaced = e4 == FC_OK && f.n_entries == 1;
    fc_st_close(&f);
    FC_CHECK(t, e1 == FC_EIO && m1, "missing folder: %d %s", e1, fc_errmsg());
    FC_CHECK(t, e2 == FC_EIO && m2 && untouched, "rename over a folder: %d", e2);
    FC_CHECK(t, left == 0, "%d temporary files left behind", left);
    FC_CHECK(t, e3 == FC_OK && replaced, "replace: %d %d", e3, e4);
}

/* ---- sharded checkpoints ---- */

static void test_sharded_checkpoint_from_folder_and_index(fc_test *t) {
    const char *paths[] = {FIX "/sharded", FIX "/sharded/model.safetensors.index.json"};
    for (int k = 0; k < 2; k++) {
        fc_st_model m;
        FC_CHECK(t, fc_st_model_open(&m, paths[k]) == FC_OK, "%s: %s", paths[k], fc_errmsg());
        bool ok = m.n_files == 2 && m.n_entries == 4 && m.index_path && m.total_bytes == 16 + 12 + 16 + 4;
        const fc_st_entry *e = fc_st_model_find(&m, "lm_head.weight");
        ok = ok && e && e->shard == 1 && strstr(m.files[1].path, "model-00002-of-00002.safetensors");
        ok = ok && e && fc_bf16_to_f32(((const uint16_t *)e->data)[7]) == -7.0f;
        e = fc_st_model_find(&m, "model.embed_tokens.weight");
        ok = ok && e && e->shard == 0 && shape_is(e, 2, (int64_t[]){4, 2});
        ok = ok && e && fc_bf16_to_f32(((const uint16_t *)e->data)[3]) == 0.375f;
        ok = ok && !fc_st_model_find(&m, "model.absent");
        for (int i = 1; i < m.n_entries; i++) ok = ok && strcmp(m.entries[i - 1]->name, m.entries[i]->name) < 0;
        fc_st_model_close(&m);
        fc_st_model_close(&m);
        FC_CHECK(t, ok, "%s: wrong tensors", paths[k]);
    }
    fc_st_model m;
    FC_CHECK(t, fc_st_model_open(&m, FIX "/dtypes.safetensors") == FC_OK, "%s", fc_errmsg());
    bool single = m.n_files == 1 && m.n_entries == 9 && !m.index_path && fc_st_model_find(&m, "u8");
    fc_st_model_close(&m);
    FC_CHECK(t, single, "single file as a model");
    fc_st_index ix;
    FC_CHECK(t, fc_st_index_load(&ix, FIX "/sharded/model.safetensors.index.json") == FC_OK, "%s", fc_errmsg());
    bool ixok = ix.n_shards == 2 && ix.n_tensors == 4 && ix.total_size == 48 && !strcmp(ix.names[0], "lm_head.weight") &&
                ix.shard_of[0] == 1;
    fc_st_index_free(&ix);
    FC_CHECK(t, ixok, "index contents");
}

/* Copies the fixture shards into dir and writes `index` as the index there. */
static bool make_checkpoint(const char *dir, const char *index, bool with_shard2) {
    mkdir(dir, 0755);
    const char *names[] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    for (int i = 0; i < (with_shard2 ? 2 : 1); i++) {
        char src[512], dst[512];
        size_t n;
        snprintf(src, sizeof src, FIX "/sharded/%s", names[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, names[i]);
        unsigned char *b = read_bytes(src, &n);
        bool ok = b && write_bytes(dst, b, n);
        free(b);
        if (!ok) return false;
    }
    char ip[512];
    snprintf(ip, sizeof ip, "%s/model.safetensors.index.json", dir);
    return write_bytes(ip, index, strlen(index));
}

static void test_sharded_errors_name_the_index(fc_test *t) {
#define S1 "\"model-00001-of-00002.safetensors\""
#define S2 "\"model-00002-of-00002.safetensors\""
    static const struct {
        const char *name, *index;
        bool shard2;
        fc_err code;
        const char *want;
    } cases[] = {
        {"missing", "{\"weight_map\":{\"lm_head.weight\":" S2 ",\"model.norm.weight\":" S1 "}}", false, FC_ENOTFOUND,
         "shard 'model-00002-of-00002.safetensors' is missing"},
        {"absent", "{\"weight_map\":{\"lm_head.weight\":" S1 "}}", true, FC_EFORMAT,
         "tensor 'lm_head.weight' is listed in shard 'model-00001-of-00002.safetensors' but absent from it"},
        {"escape", "{\"weight_map\":{\"lm_head.weight\":\"../x.safetensors\"}}", true, FC_EFORMAT,
         "shard path '../x.safetensors' escapes the checkpoint folder"},
        {"absolute", "{\"weight_map\":{\"lm_head.weight\":\"/etc/passwd\"}}", true, FC_EFORMAT, "escapes"},
        {"no_map", "{\"metadata\":{}}", true, FC_EFORMAT, "no 'weight_map'"},
        {"map_not_object", "{\"weight_map\":[]}", true, FC_EFORMAT, "'weight_map' is not a JSON object"},
        {"value_not_string", "{\"weight_map\":{\"a\":3}}", true, FC_EFORMAT, "weight_map['a'] is not a shard file name"},
        {"bad_json", "{\"weight_map\":{", true, FC_EFORMAT, "not valid JSON"},
        {"bad_utf8", "{\"weight_map\":{\"\xff\":" S1 "}}", true, FC_EFORMAT, "not valid UTF-8 at byte offset 16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[512], ip[600];
        snprintf(dir, sizeof dir, "%s/ck_%s", tmp_dir(), cases[i].name);
        FC_CHECK(t, make_checkpoint(dir, cases[i].index, cases[i].shard2), "setup %s", cases[i].name);
        snprintf(ip, sizeof ip, "%s/model.safetensors.index.json", dir);
        fc_st_model m;
        fc_err e = fc_st_model_open(&m, dir);
        FC_CHECK(t, e == cases[i].code && strstr(fc_errmsg(), cases[i].want) && strstr(fc_errmsg(), ip),
                 "%s: code %d, message '%s'", cases[i].name, e, fc_errmsg());
        FC_CHECK(t, m.n_files == 0 && m.entries == NULL, "%s: model not zeroed", cases[i].name);
    }
    /* the same tensor in two shards */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ck_twice", tmp_dir());
    FC_CHECK(t, make_checkpoint(dir, "{\"weight_map\":{\"model.embed_tokens.weight\":" S1
                                    ",\"model.layers.0.mlp.up_proj.weight\":" S2 "}}", true), "setup twice");
    char s2[600];
    snprintf(s2, sizeof s2, "%s/model-00001-of-00002.safetensors", dir);
    /* overwrite shard 2 with a copy of shard 1: every tensor of shard 1 is then in both */
    size_t n;
    unsigned char *b1 = read_bytes(s2, &n);
    snprintf(s2, sizeof s2, "%s/model-00002-of-00002.safetensors", dir);
    bool w = b1 && write_bytes(s2, b1, n);
    free(b1);
    FC_CHECK(t, w, "setup copy");
    fc_st_model m;
    fc_err e = fc_st_model_open(&m, dir);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "is in two shards"), "twice: %d %s", e, fc_errmsg());
    /* a folder with no model files */
    snprintf(dir, sizeof dir, "%s/empty_dir", tmp_dir());
    mkdir(dir, 0755);
    e = fc_st_model_open(&m, dir);
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "no model.safetensors"), "empty dir: %s", fc_errmsg());
    e = fc_st_model_open(&m, "/nonexistent/x.safetensors");
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "/nonexistent/x.safetensors"), "missing: %s", fc_errmsg());
#undef S1
#undef S2
}

/* ---- corrupt headers: one line per case ---- */

/* A good header for 24 data bytes: a F32 [2,2] at [0,16] and a F16 [4] at [16,24]. */
#define GOOD_A "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"
#define GOOD_B "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[16,24]}"

static void test_corrupt_headers_rejected(fc_test *t) {
    static const struct {
        const char *header;
        size_t data_len;
        uint64_t len_override;
        const char *want;
    } cases[] = {
        {"{" GOOD_A "," GOOD_B "}", 23, 0, "tensor 'b': data_offsets [16,24] run past the data area of 23 bytes"},
        {"{" GOOD_A "}", 16, 1000, "header length 1000 > file size"},
        {"{" GOOD_A "}", 16, (uint64_t)1 << 63, "header length 9223372036854775808 exceeds the limit"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0,
         "tensors 'a' [0,8] and 'b' [4,12] overlap"},
        {"{\"a\":{\"dtype\":\"F128\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "tensor 'a': unknown dtype 'F128'"},
        {"{\"a\":{\"dtype\":\"F16\",\"shape\":[32000,4096],\"data_offsets\":[0,100]}}", 100, 0,
         "tensor 'a': shape [32000,4096] x F16 = 262144000 bytes but data_offsets span 100"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,8]}}", 8, 0, "tensor 'a': shape[1] is negative"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, 0, "shape[0] is not an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, 0, "shape[0] is not a number"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,8]}}", 8, 0, "shape[0] is too large"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0,
         "shape has 9 dims, more than 8"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 8, 0,
         "overflows 64 bits"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,0],\"data_offsets\":[0,0]}}", 8, 0,
         "shape[0] is too large"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, 0, "data_offsets [8,0] begin after end"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, 0, "data_offsets is not an array of 2"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, 0, "tensor 'a': missing 'data_offsets'"},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "tensor 'a': missing 'dtype'"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, 0, "tensor 'a': missing 'shape'"},
        {"{\"a\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "dtype is not a string"},
        {"{\"a\":[1,2]}", 8, 0, "tensor 'a': entry is not a JSON object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8, 0, "header is not valid JSON"},
        {"{\"a\xc3\x28\":{}}", 8, 0, "header is not valid UTF-8 at byte offset 11"},
        {"{\"\xed\xa0\x80\":{}}", 8, 0, "not valid UTF-8"},  /* an encoded surrogate */
        {"{\"\xc0\xaf\":{}}", 8, 0, "not valid UTF-8"},      /* an overlong '/' */
        {"[1,2,3]", 8, 0, "header is not a JSON object"},
        {"{" GOOD_A "," GOOD_A "}", 16, 0, "tensor 'a' appears twice in the header"},
        {"{\"__metadata__\":{\"k\":3}," GOOD_A "}", 16, 0, "__metadata__ 'k': value is not a string"},
        {"{\"__metadata__\":[]," GOOD_A "}", 16, 0, "__metadata__ is not a JSON object"},
        {"{" GOOD_A "}  x", 16, 0, "trailing bytes after the JSON"},
        {"{", 8, 0, "header length 1 is too short"},
    };
    char path[512];
    tmp_path(path, sizeof path, "corrupt.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FC_CHECK(t, write_st(path, cases[i].header, cases[i].data_len, cases[i].len_override), "write case %zu", i);
        fc_st_file f;
        fc_err_clear();
        fc_err e = fc_st_open(&f, path);
        FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), cases[i].want) && strstr(fc_errmsg(), path),
                 "case %zu (%s): code %d, message '%s'", i, cases[i].want, e, fc_errmsg());
        FC_CHECK(t, f.n_entries == 0 && f.map == NULL && f.path == NULL, "case %zu: file not zeroed", i);
    }
    /* the good layout itself opens: the cases above differ from it in one thing each */
    FC_CHECK(t, write_st(path, "{" GOOD_A "," GOOD_B "}  ", 24, 0), "write good");
    fc_st_file f;
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK && f.n_entries == 2, "good: %s", fc_errmsg());
    fc_st_close(&f);
    /* gaps in the data area are allowed (the Rust crate refuses them; nothing depends on it) */
    FC_CHECK(t, write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 12, 0), "write gap");
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK && f.n_entries == 1, "gap: %s", fc_errmsg());
    fc_st_close(&f);
    /* an empty tensor at the start of another tensor's range overlaps nothing */
    FC_CHECK(t, write_st(path, "{\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}," GOOD_A "}", 16, 0), "write");
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK && f.n_entries == 2, "empty inside: %s", fc_errmsg());
    fc_st_close(&f);
    /* an unaligned F32 reads as an entry but is refused as a tensor */
    FC_CHECK(t, write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5]}}", 8, 0), "write");
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK, "unaligned: %s", fc_errmsg());
    fc_tensor v;
    fc_err e = fc_st_tensor(&f.entries[0], &v);
    fc_st_close(&f);
    FC_CHECK(t, e == FC_EUNSUPPORTED && strstr(fc_errmsg(), "not aligned"), "unaligned tensor: %s", fc_errmsg());
}

static void test_short_and_odd_files(fc_test *t) {
    char path[512];
    tmp_path(path, sizeof path, "short.safetensors");
    fc_st_file f;
    FC_CHECK(t, write_bytes(path, "", 0), "write");
    fc_err e = fc_st_open(&f, path);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "empty file"), "empty: %s", fc_errmsg());
    FC_CHECK(t, write_bytes(path, "\x02\0\0", 3), "write");
    e = fc_st_open(&f, path);
    FC_CHECK(t, e == FC_EFORMAT && strstr(fc_errmsg(), "3 bytes, too short"), "short: %s", fc_errmsg());
    e = fc_st_open(&f, tmp_dir());
    FC_CHECK(t, e == FC_EIO && strstr(fc_errmsg(), "not a regular file"), "dir: %s", fc_errmsg());
    e = fc_st_open(&f, "/nonexistent.safetensors");
    FC_CHECK(t, e == FC_ENOTFOUND && strstr(fc_errmsg(), "/nonexistent.safetensors: cannot open"), "%s", fc_errmsg());
    /* a header-only file with no tensors is valid */
    FC_CHECK(t, write_st(path, "{}      ", 0, 0), "write");
    FC_CHECK(t, fc_st_open(&f, path) == FC_OK && f.n_entries == 0 && !fc_st_find(&f, "x"), "%s", fc_errmsg());
    fc_st_close(&f);
}

static void test_utf8_check_definition(fc_test *t) {
    /* from the Unicode standard's table of well-formed byte sequences (table 3-7) */
    FC_CHECK(t, fc_st_utf8_check("a\xc2\x80\xdf\xbf", 5) == 5, "2-byte");
    FC_CHECK(t, fc_st_utf8_check("\xe0\xa0\x80\xef\xbf\xbf\xed\x9f\xbf", 9) == 9, "3-byte");
    FC_CHECK(t, fc_st_utf8_check("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8) == 8, "4-byte");
    FC_CHECK(t, fc_st_utf8_check("ab\xc1\xbf", 4) == 2, "overlong 2-byte");
    FC_CHECK(t, fc_st_utf8_check("\xe0\x9f\xbf", 3) == 0, "overlong 3-byte");
    FC_CHECK(t, fc_st_utf8_check("\xf0\x8f\xbf\xbf", 4) == 0, "overlong 4-byte");
    FC_CHECK(t, fc_st_utf8_check("\xf4\x90\x80\x80", 4) == 0, "above U+10FFFF");
    FC_CHECK(t, fc_st_utf8_check("x\xe2\x82", 3) == 1, "truncated sequence");
    FC_CHECK(t, fc_st_utf8_check("\x80", 1) == 0 && fc_st_utf8_check("\xf5\x80\x80\x80", 4) == 0, "bad lead");
    FC_CHECK(t, fc_st_utf8_check("\xe2\x28\xa1", 3) == 0, "bad continuation");
}

static void test_dtype_tables(fc_test *t) {
    for (int i = 0; i < FC_ST_DTYPE_COUNT; i++)
        FC_CHECK(t, fc_st_dtype_size((fc_st_dtype)i) >= 1 && strlen(fc_st_dtype_name((fc_st_dtype)i)) >= 2, "dtype %d", i);
    FC_CHECK(t, fc_st_dtype_size(FC_ST_BF16) == 2 && !strcmp(fc_st_dtype_name(FC_ST_F8_E4M3), "F8_E4M3"), "names");
    FC_CHECK(t, !strcmp(fc_st_dtype_name(FC_ST_DTYPE_COUNT), "?"), "out of range");
}

static void cleanup(void) {
    if (tmpdir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

static const fc_test_case cases[] = {
    FC_CASE(test_read_python_every_dtype),
    FC_CASE(test_open_memory_matches_file),
    FC_CASE(test_writer_bytes_equal_python),
    FC_CASE(test_roundtrip_every_written_dtype),
    FC_CASE(test_writer_refuses_bad_tensors),
    FC_CASE(test_writer_failure_leaves_target_untouched),
    FC_CASE(test_sharded_checkpoint_from_folder_and_index),
    FC_CASE(test_sharded_errors_name_the_index),
    FC_CASE(test_corrupt_headers_rejected),
    FC_CASE(test_short_and_odd_files),
    FC_CASE(test_utf8_check_definition),
    FC_CASE(test_dtype_tables),
};

int main(int argc, char **argv) {
    int rc = fc_test_main(argc, argv, cases, FC_NCASES(cases));
    cleanup();
    return rc;
}
