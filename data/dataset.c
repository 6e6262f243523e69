/* dataset.c: format dispatch, record bookkeeping and the helpers the readers share (dataset.h,
 * dataset_internal.h). */
#include "data/dataset_internal.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/file.h"
#include "core/base/mem.h"

const char *const fc_data_format_names[FC_DATA_FORMAT_COUNT] = {"auto", "llava", "gqa", "milebench"};
static_assert(sizeof fc_data_format_names / sizeof fc_data_format_names[0] == FC_DATA_FORMAT_COUNT, "names");
const char *const fc_data_skip_names[FC_DATA_SKIP_COUNT] = {"no image", "image missing", "malformed",
                                                            "too many images", "filtered by image prefix"};
static_assert(sizeof fc_data_skip_names / sizeof fc_data_skip_names[0] == FC_DATA_SKIP_COUNT, "names");

fc_err fc_data_format_parse(const char *s, fc_data_format *out) {
    for (int i = 0; i < FC_DATA_FORMAT_COUNT; i++)
        if (!strcmp(s, fc_data_format_names[i])) return *out = (fc_data_format)i, FC_OK;
    return fc_err_set(FC_EINVAL, "unknown data format '%s' (want auto, llava, gqa or milebench)", s);
}

fc_err fc_data_load_json(const char *path, cJSON **root) {
    char *text;
    size_t len;
    *root = NULL;
    FC_TRY(fc_file_read(path, FC_DATA_MAX_FILE_BYTES, "a dataset file", &text, &len));
    const char *end = NULL;
    cJSON *r = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!r) {
        /* cJSON leaves the position where parsing stopped; report it as a byte offset */
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
        free(text);
        return fc_err_set(FC_EFORMAT, "%s: not valid JSON (at byte %zu)", path, off);
    }
    /* anything but whitespace after the value is a second document or garbage */
    const char *p = end;
    while (p < text + len && isspace((unsigned char)*p)) p++;
    if (p < text + len) {
        size_t off = (size_t)(p - text);
        free(text);
        cJSON_Delete(r);
        return fc_err_set(FC_EFORMAT, "%s: text after the JSON value (at byte %zu)", path, off);
    }
    free(text);
    *root = r;
    return FC_OK;
}

const char *fc_data_number_text(double v, char *buf, size_t cap) {
    if (v >= -9.2e18 && v <= 9.2e18 && v == (double)(long long)v) snprintf(buf, cap, "%lld", (long long)v);
    else snprintf(buf, cap, "%.17g", v);
    return buf;
}

const char *fc_data_str(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

fc_err fc_data_push(fc_dataset *d, int idx, fc_data_record **rec) {
    if (d->n == 0 || (d->n >= 16 && (d->n & (d->n - 1)) == 0)) { /* capacity 16, then doubling */
        size_t cap = d->n ? (size_t)d->n * 2 : 16;
        fc_data_record *v = fc_realloc(d->recs, cap * sizeof *v, "dataset records");
        if (!v) return FC_ENOMEM;
        d->recs = v;
    }
    fc_data_record *r = &d->recs[d->n++];
    memset(r, 0, sizeof *r);
    r->index = idx;
    r->answer_choice = -1;
    *rec = r;
    return FC_OK;
}

void fc_data_record_clear(fc_data_record *r) {
    free(r->id);
    for (int i = 0; i < r->n_images; i++) free(r->images[i]);
    free(r->images);
    for (int i = 0; i < r->n_turns; i++) free(r->turns[i].text);
    free(r->turns);
    free(r->question), free(r->answer), free(r->task);
    for (int i = 0; i < r->n_choices; i++) free(r->choices[i]);
    free(r->choices);
    memset(r, 0, sizeof *r);
}

void fc_data_pop(fc_dataset *d) {
    if (d->n > 0) fc_data_record_clear(&d->recs[--d->n]);
}

void fc_dataset_free(fc_dataset *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) fc_data_record_clear(&d->recs[i]);
    free(d->recs), free(d->path), free(d->first_skip);
    memset(d, 0, sizeof *d);
}

const char *fc_data_id_for_message(const char *id, char *buf, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    if (cap == 0) return buf;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        char esc[5] = {(char)*p, 0};
        if (*p == '\n') memcpy(esc, "\\n", 3);
        else if (*p == '\t') memcpy(esc, "\\t", 3);
        else if (*p < 0x20 || *p == 0x7f) esc[0] = '\\', esc[1] = 'x', esc[2] = hex[*p >> 4], esc[3] = hex[*p & 15], esc[4] = 0;
        size_t n = strlen(esc);
        if (k + n + 4 > cap) { /* room for "..." and the terminator */
            if (cap >= 4) memcpy(buf + (k < cap - 4 ? k : cap - 4), "...", 4);
            else buf[0] = 0;
            return buf;
        }
        memcpy(buf + k, esc, n);
        k += n;
    }
    buf[k] = 0;
    return buf;
}

fc_err fc_data_settle(fc_dataset *d, const fc_data_opts *o, const char *file, int idx, const char *id, fc_err e,
                      fc_data_skip why) {
    if (e == FC_ENOMEM) return e;
    char shown[160];
    if (id) e = fc_err_prefix(e, "%s: record %d (id '%s')", file, idx, fc_data_id_for_message(id, shown, sizeof shown));
    else e = fc_err_prefix(e, "%s: record %d", file, idx);
    if (!(o && o->lenient) && why != FC_DATA_SKIP_FILTERED) return e;
    d->skipped[why]++;
    if (!d->first_skip && !(d->first_skip = fc_strdup(fc_errmsg()))) return FC_ENOMEM;
    fc_err_clear();
    return FC_OK;
}

char *fc_data_trim_dup(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    char *r = fc_malloc(n + 1, "dataset text");
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

char *fc_data_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return fc_strdup(".");
    if (slash == path) return fc_strdup("/");
    size_t n = (size_t)(slash - path);
    char *r = fc_malloc(n + 1, "path");
    if (!r) return NULL;
    memcpy(r, path, n);
    r[n] = 0;
    return r;
}

int fc_data_count_image_markers(const char *text) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, "<image>")); p += 7) n++;
    return n;
}

char *fc_data_strip_image_markers(const char *text) {
    size_t n = strlen(text);
    char *buf = fc_malloc(n + 1, "dataset text");
    if (!buf) return NULL;
    size_t k = 0;
    for (const char *p = text; *p;) {
        if (!strncmp(p, "<image>", 7)) {
            p += 7;
            if (*p == '\n' || *p == ' ') p++; /* LLaVA writes "<image>\nQ" or "Q\n<image>" */
            continue;
        }
        buf[k++] = *p++;
    }
    buf[k] = 0;
    char *r = fc_data_trim_dup(buf);
    free(buf);
    return r;
}

fc_err fc_data_add_image(fc_data_record *r, const char *dir, const char *rel, const fc_data_opts *o,
                         fc_data_skip *why) {
    *why = FC_DATA_SKIP_MALFORMED;
    if (!*rel) return fc_err_set(FC_EFORMAT, "image path is empty");
    if (rel[0] == '/') return fc_err_set(FC_EFORMAT, "image path '%s' is absolute (want one inside the images folder)", rel);
    for (const char *p = rel; *p;) { /* a ".." part would leave the images folder */
        size_t seg = strcspn(p, "/");
        if (seg == 2 && p[0] == '.' && p[1] == '.')
            return fc_err_set(FC_EFORMAT, "image path '%s' leaves the images folder", rel);
        p += seg;
        while (*p == '/') p++;
    }
    char *full = fc_path_join(dir, rel);
    if (!full) return FC_ENOMEM;
    if (!(o && o->no_image_check) && !fc_file_exists(full)) {
        struct stat st;
        bool folder = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
        free(full);
        *why = FC_DATA_SKIP_IMAGE_MISSING;
        if (folder) return fc_err_set(FC_ENOTFOUND, "image '%s' in '%s' is a folder, not an image file", rel, dir);
        return fc_err_set(FC_ENOTFOUND, "image '%s' not found in '%s'", rel, dir);
    }
    char **v = fc_realloc(r->images, (size_t)(r->n_images + 1) * sizeof *v, "dataset images");
    if (!v) {
        free(full);
        return FC_ENOMEM;
    }
    r->images = v;
    r->images[r->n_images++] = full;
    return FC_OK;
}

fc_err fc_data_set_qa(fc_data_record *r, const char *question, const char *answer) {
    if (!(r->turns = fc_calloc(2, sizeof *r->turns, "dataset turns"))) return FC_ENOMEM;
    r->n_turns = 2;
    r->turns[0] = (fc_data_turn){FC_DATA_HUMAN, fc_strdup(question)};
    r->turns[1] = (fc_data_turn){FC_DATA_GPT, fc_strdup(answer)};
    r->question = fc_data_trim_dup(question);
    r->answer = fc_data_trim_dup(answer);
    if (!r->turns[0].text || !r->turns[1].text || !r->question || !r->answer) return FC_ENOMEM;
    if (!r->answer[0]) return fc_err_set(FC_EFORMAT, "the answer is empty (nothing to score or learn)");
    return FC_OK;
}

/* AUTO: a folder is MileBench; otherwise peek at the JSON's top level. */
static fc_err detect(const char *path, fc_data_format *fmt) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return *fmt = FC_DATA_MILEBENCH, FC_OK;
    cJSON *root;
    FC_TRY(fc_data_load_json(path, &root));
    if (cJSON_IsObject(root)) *fmt = FC_DATA_GQA;
    else if (cJSON_IsArray(root)) {
        const cJSON *first = cJSON_GetArrayItem(root, 0);
        *fmt = first && cJSON_GetObjectItemCaseSensitive(first, "conversations") ? FC_DATA_LLAVA : FC_DATA_GQA;
    } else {
        cJSON_Delete(root);
        return fc_err_set(FC_EFORMAT, "%s: neither a JSON array (LLaVA conversations, GQA list) nor an object "
                                      "(GQA questions)", path);
    }
    cJSON_Delete(root);
    return FC_OK;
}

fc_err fc_dataset_read(const char *path, const fc_data_opts *opts, fc_dataset *out) {
    memset(out, 0, sizeof *out);
    fc_data_format fmt = opts ? opts->format : FC_DATA_AUTO;
    if (fmt == FC_DATA_AUTO) FC_TRY(detect(path, &fmt));
    fc_err e;
    switch (fmt) {
    case FC_DATA_LLAVA: e = fc_data_read_llava(path, opts, out); break;
    case FC_DATA_GQA: e = fc_data_read_gqa(path, opts, out); break;
    case FC_DATA_MILEBENCH: e = fc_data_read_milebench(path, opts, out); break;
    default: return fc_err_set(FC_EINVAL, "data format %d", (int)fmt);
    }
    if (!e && !(out->path = fc_strdup(path))) e = FC_ENOMEM;
    if (e) fc_dataset_free(out);
    else out->format = fmt;
    return e;
}

void fc_dataset_print_summary(const fc_dataset *d, FILE *f) {
    fprintf(f, "%s: %d records (%s), skipped:", d->path ? d->path : "?", d->n, fc_data_format_names[d->format]);
    bool any = false;
    for (int i = 0; i < FC_DATA_SKIP_COUNT; i++)
        if (d->skipped[i]) fprintf(f, "%s %d %s", any ? "," : "", d->skipped[i], fc_data_skip_names[i]), any = true;
    fprintf(f, "%s\n", any ? "" : " none");
    if (d->first_skip) fprintf(f, "  first skipped: %s\n", d->first_skip);
}
