/* prompts.c: the --prompts file reader (format and messages in prompts.h). */
#include "core/io/prompts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/file.h"
#include "core/base/mem.h"

static void prompt_free(fc_prompt *p) {
    free(p->id), free(p->text), free(p->ids);
    for (int i = 0; i < p->n_images; i++) free(p->images[i]);
    free(p->images);
    memset(p, 0, sizeof *p);
}

void fc_prompts_free(fc_prompt_list *l) {
    for (int i = 0; l && i < l->n; i++) prompt_free(&l->items[i]);
    if (l) free(l->items), l->items = NULL, l->n = 0;
}

static char *dup_n(const char *s, size_t n) {
    char *d = fc_malloc(n + 1, "prompts");
    if (d) memcpy(d, s, n), d[n] = 0;
    return d;
}

/* The id names an output file: no separators, no leading dot, nothing a shell or a file system minds. */
static bool id_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > FC_PROMPTS_MAX_ID || s[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static fc_err set_id(fc_prompt *p, const cJSON *v, const char *name) {
    char buf[32];
    const char *s = NULL;
    if (cJSON_IsString(v)) {
        s = v->valuestring;
    } else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e15 &&
               v->valuedouble == floor(v->valuedouble)) {
        snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
        s = buf;
    } else {
        return fc_err_set(FC_EFORMAT, "%s:%d: id: expected a string or a non-negative integer", name, p->line);
    }
    if (!id_ok(s))
        return fc_err_set(FC_EFORMAT,
                          "%s:%d: id '%.60s': use 1 to %d letters, digits, '.', '_' or '-', not starting with '.' "
                          "(it names the output file)",
                          name, p->line, s, FC_PROMPTS_MAX_ID);
    return (p->id = dup_n(s, strlen(s))) ? FC_OK : FC_ENOMEM;
}

static fc_err set_ids(fc_prompt *p, const cJSON *v, const char *name) {
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 1) return fc_err_set(FC_EFORMAT, "%s:%d: ids: expected a non-empty list of token ids", name, p->line);
    if (!(p->ids = fc_malloc((size_t)n * sizeof(int32_t), "prompt ids"))) return FC_ENOMEM;
    int k = 0;
    for (const cJSON *it = v->child; it; it = it->next, k++) {
        double x = cJSON_IsNumber(it) ? it->valuedouble : -1;
        if (!(x >= 0 && x <= INT32_MAX && x == floor(x)))
            return fc_err_set(FC_EFORMAT, "%s:%d: ids[%d]: expected a token id (an integer >= 0)", name, p->line, k);
        p->ids[k] = (int32_t)x;
    }
    p->n_ids = n;
    return FC_OK;
}

static fc_err set_images(fc_prompt *p, const cJSON *v, const char *name) {
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 0) return fc_err_set(FC_EFORMAT, "%s:%d: images: expected a list of image files", name, p->line);
    if (n > FC_PROMPTS_MAX_IMAGES)
        return fc_err_set(FC_EFORMAT, "%s:%d: images: %d files (at most %d)", name, p->line, n, FC_PROMPTS_MAX_IMAGES);
    if (n == 0) return FC_OK;
    if (!(p->images = fc_calloc((size_t)n, sizeof(char *), "prompt images"))) return FC_ENOMEM;
    int k = 0;
    for (const cJSON *it = v->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it) || !it->valuestring[0])
            return fc_err_set(FC_EFORMAT, "%s:%d: images[%d]: expected a file name", name, p->line, k);
        if (!(p->images[k] = dup_n(it->valuestring, strlen(it->valuestring)))) return FC_ENOMEM;
        p->n_images = k + 1;
    }
    return FC_OK;
}

static fc_err parse_json_line(fc_prompt *p, const char *s, size_t n, const char *name) {
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(s, n, &end, false);
    if (!o) {
        const char *at = cJSON_GetErrorPtr();
        size_t col = at && at >= s && at <= s + n ? (size_t)(at - s) + 1 : 1;
        return fc_err_set(FC_EFORMAT, "%s:%d:%zu: not valid JSON", name, p->line, col);
    }
    fc_err e = FC_OK;
    while (end && end < s + n && (*end == ' ' || *end == '\t')) end++;
    if (end && end < s + n)
        e = fc_err_set(FC_EFORMAT, "%s:%d:%zu: text after the JSON object", name, p->line, (size_t)(end - s) + 1);
    else if (!cJSON_IsObject(o))
        e = fc_err_set(FC_EFORMAT, "%s:%d: expected a JSON object", name, p->line);
    for (const cJSON *it = o->child; !e && it; it = it->next) {
        for (const cJSON *j = o->child; j != it; j = j->next)
            if (!strcmp(j->string, it->string))
                e = fc_err_set(FC_EFORMAT, "%s:%d: duplicate key '%.40s'", name, p->line, it->string);
        if (e) break;
        if (!strcmp(it->string, "id")) {
            e = set_id(p, it, name);
        } else if (!strcmp(it->string, "text")) {
            if (!cJSON_IsString(it) || !it->valuestring[0])
                e = fc_err_set(FC_EFORMAT, "%s:%d: text: expected a non-empty string", name, p->line);
            else if (!(p->text = dup_n(it->valuestring, strlen(it->valuestring))))
                e = FC_ENOMEM;
        } else if (!strcmp(it->string, "ids")) {
            e = set_ids(p, it, name);
        } else if (!strcmp(it->string, "images")) {
            e = set_images(p, it, name);
        } else {
            e = fc_err_set(FC_EFORMAT, "%s:%d: unknown key '%.40s' (expected id, text, ids, images)", name, p->line,
                           it->string);
        }
    }
    if (!e && !p->text == !p->ids)
        e = fc_err_set(FC_EFORMAT, "%s:%d: give exactly one of \"text\" and \"ids\"", name, p->line);
    cJSON_Delete(o);
    return e;
}

typedef struct {
    const char *id;
    int line;
} id_ref;

static int cmp_ref(const void *a, const void *b) {
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Duplicate ids would overwrite each other's output: the first repeat in file order is the error. */
static fc_err check_unique(const fc_prompt_list *l, const char *name) {
    id_ref *r = fc_malloc((size_t)l->n * sizeof *r, "prompt ids");
    if (!r) return FC_ENOMEM;
    for (int i = 0; i < l->n; i++) r[i] = (id_ref){l->items[i].id, l->items[i].line};
    qsort(r, (size_t)l->n, sizeof *r, cmp_ref);
    int bad = -1;
    for (int i = 1; i < l->n; i++)
        if (!strcmp(r[i].id, r[i - 1].id) && (bad < 0 || r[i].line < r[bad].line)) bad = i;
    fc_err e = FC_OK;
    if (bad >= 0) {
        int first = bad - 1;
        while (first > 0 && !strcmp(r[first - 1].id, r[bad].id)) first--;
        e = fc_err_set(FC_EFORMAT, "%s:%d: id '%s' is also on line %d", name, r[bad].line, r[bad].id, r[first].line);
    }
    free(r);
    return e;
}

fc_err fc_prompts_parse(fc_prompt_list *l, const char *name, const char *buf, size_t len) {
    memset(l, 0, sizeof *l);
    int cap = 0, line = 0;
    fc_err e = FC_OK;
    for (size_t pos = 0; pos < len && !e;) {
        const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + 1;
        line++;
        if (n && s[n - 1] == '\r') n--;
        size_t lead = 0;
        while (lead < n && (s[lead] == ' ' || s[lead] == '\t')) lead++;
        if (lead == n) continue; /* blank */
        if (memchr(s, 0, n)) {
            e = fc_err_set(FC_EFORMAT, "%s:%d: a NUL byte in the line", name, line);
            break;
        }
        if (l->n == FC_PROMPTS_MAX_COUNT) {
            e = fc_err_set(FC_EFORMAT, "%s:%d: more than %d prompts", name, line, FC_PROMPTS_MAX_COUNT);
            break;
        }
        if (l->n == cap) {
            int nc = cap ? cap * 2 : 16;
            fc_prompt *g = realloc(l->items, (size_t)nc * sizeof *g);
            if (!g) {
                e = fc_err_set(FC_ENOMEM, "%s: out of memory for %d prompts", name, nc);
                break;
            }
            l->items = g, cap = nc;
        }
        fc_prompt *p = &l->items[l->n++];
        memset(p, 0, sizeof *p);
        p->line = line;
        if (s[lead] == '{') e = parse_json_line(p, s + lead, n - lead, name);
        else if (!(p->text = dup_n(s, n))) e = FC_ENOMEM;
        if (!e && !p->id) {
            char num[16];
            snprintf(num, sizeof num, "%d", line);
            if (!(p->id = dup_n(num, strlen(num)))) e = FC_ENOMEM;
        }
    }
    if (!e && l->n == 0) e = fc_err_set(FC_EFORMAT, "%s: no prompts", name);
    if (!e) e = check_unique(l, name);
    if (e) fc_prompts_free(l);
    return e;
}

fc_err fc_prompts_load(fc_prompt_list *l, const char *path) {
    memset(l, 0, sizeof *l);
    char *buf = NULL;
    size_t len = 0;
    FC_TRY(fc_file_read(path, FC_PROMPTS_MAX_BYTES, "a prompts file", &buf, &len));
    fc_err e = fc_prompts_parse(l, path, buf, len);
    free(buf);
    return e;
}
