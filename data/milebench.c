/* milebench.c: the MileBench task-folder reader (see dataset.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/file.h"
#include "core/base/mem.h"
#include "data/dataset_internal.h"

#define MB_MAX_DEPTH 4 /* how deep below the given folder task folders are looked for */

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A growing text buffer for the question. */
typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static fc_err sb_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *v = fc_realloc(b->s, cap, "dataset text");
        if (!v) return FC_ENOMEM;
        b->s = v, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return FC_OK;
}

/* Length of a "{image#k}" or "{table#k}" marker at p (k decimal digits, stored in *k, saturating at 10^9),
 * else 0. Not sscanf's %d: a long number would overflow it. */
static int marker(const char *p, int *k) {
    if (strncmp(p, "{image#", 7) && strncmp(p, "{table#", 7)) return 0;
    int i = 7, v = 0;
    for (; p[i] >= '0' && p[i] <= '9'; i++) v = v < 100000000 ? v * 10 + (p[i] - '0') : 1000000000;
    if (i == 7 || p[i] != '}') return 0;
    *k = v;
    return i + 1;
}

/* instruction "\n" context (with {image#k}/{table#k} written "<Image k> ") and, for multiple choice,
 * MileBench's choice list: "\nChoice list: \nA. x\nB. y\nYour answer is: ". */
static fc_err build_question(const char *instr, const char *ctx, const cJSON *choices, int n_images, sbuf *b) {
    FC_TRY(sb_add(b, instr, strlen(instr)));
    FC_TRY(sb_add(b, "\n", 1));
    for (const char *p = ctx; *p;) {
        int k, used = 0;
        if (*p == '{' && (used = marker(p, &k)) > 0) {
            if (k < 1 || k > n_images)
                return fc_err_set(FC_EFORMAT, "context marker '%.*s' but the sample has %d image%s", used, p, n_images,
                                  n_images == 1 ? "" : "s");
            char tag[32];
            int m = snprintf(tag, sizeof tag, "<Image %d> ", k);
            FC_TRY(sb_add(b, tag, (size_t)m));
            p += used;
            continue;
        }
        FC_TRY(sb_add(b, p, 1));
        p++;
    }
    if (choices) {
        FC_TRY(sb_add(b, "\nChoice list: \n", 15));
        int i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, choices) {
            char tag[16];
            int m = snprintf(tag, sizeof tag, "%s%c. ", i ? "\n" : "", 'A' + i);
            FC_TRY(sb_add(b, tag, (size_t)m));
            FC_TRY(sb_add(b, c->valuestring, strlen(c->valuestring)));
            i++;
        }
        FC_TRY(sb_add(b, "\nYour answer is: ", 17));
    }
    return FC_OK;
}

static fc_err parse_sample(const cJSON *s, const cJSON *instrs, bool multi, const char *img_dir, const fc_data_opts *o,
                           fc_data_record *r, fc_data_skip *why) {
    *why = FC_DATA_SKIP_MALFORMED;
    const cJSON *ti = cJSON_GetObjectItemCaseSensitive(s, "task_instruction_id");
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(s, "task_instance");
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(s, "response");
    if (!cJSON_IsNumber(ti) || ti->valuedouble < 0 || ti->valuedouble >= cJSON_GetArraySize(instrs) ||
        ti->valuedouble != (int)ti->valuedouble)
        return fc_err_set(FC_EFORMAT, "'task_instruction_id' is missing or not an index of the %d task instructions",
                          cJSON_GetArraySize(instrs));
    const char *instr = cJSON_GetArrayItem(instrs, (int)ti->valuedouble)->valuestring;
    if (!cJSON_IsObject(inst)) return fc_err_set(FC_EFORMAT, "'task_instance' is missing or not an object");
    const char *ctx = fc_data_str(inst, "context");
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(inst, "images_path");
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(inst, "choice_list");
    if (!ctx) return fc_err_set(FC_EFORMAT, "task_instance has no string 'context'");
    if (!cJSON_IsArray(paths)) return fc_err_set(FC_EFORMAT, "task_instance has no list 'images_path'");
    char answer[64];
    const char *ans = cJSON_IsString(resp) ? resp->valuestring : NULL;
    if (cJSON_IsNumber(resp)) ans = fc_data_number_text(resp->valuedouble, answer, sizeof answer); /* MileBench scores str(response) */
    if (!ans) return fc_err_set(FC_EFORMAT, "no 'response' (string or number)");
    if (cJSON_IsNull(choices)) choices = NULL;
    if (multi && !choices) return fc_err_set(FC_EFORMAT, "a multi-choice task but no 'choice_list'");
    if (choices) {
        if (!cJSON_IsArray(choices) || cJSON_GetArraySize(choices) < 1 || cJSON_GetArraySize(choices) > 26)
            return fc_err_set(FC_EFORMAT, "'choice_list' is not a list of 1 to 26 options");
        int n = cJSON_GetArraySize(choices);
        if (!(r->choices = fc_calloc((size_t)n, sizeof *r->choices, "dataset choices"))) return FC_ENOMEM;
        const cJSON *c;
        cJSON_ArrayForEach(c, choices) {
            if (!cJSON_IsString(c)) return fc_err_set(FC_EFORMAT, "choice_list[%d] is not a string", r->n_choices);
            if (!(r->choices[r->n_choices] = fc_data_trim_dup(c->valuestring))) return FC_ENOMEM;
            if (r->answer_choice < 0 && !strcmp(c->valuestring, ans)) r->answer_choice = r->n_choices;
            r->n_choices++;
        }
        if (r->answer_choice < 0) return fc_err_set(FC_EFORMAT, "response '%s' is not one of the choices", ans);
    }
    int n_img = cJSON_GetArraySize(paths);
    if (n_img == 0) {
        *why = FC_DATA_SKIP_NO_IMAGE;
        if (!(o && o->allow_text_only)) return fc_err_set(FC_EFORMAT, "no image ('images_path' is empty)");
        *why = FC_DATA_SKIP_MALFORMED;
    }
    if (o && o->max_images > 0 && n_img > o->max_images) {
        *why = FC_DATA_SKIP_TOO_MANY_IMAGES;
        return fc_err_set(FC_EINVAL, "%d images, more than the %d allowed", n_img, o->max_images);
    }
    int k = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths) {
        if (!cJSON_IsString(p)) return fc_err_set(FC_EFORMAT, "images_path[%d] is not a string", k);
        FC_TRY(fc_data_add_image(r, img_dir, p->valuestring, o, why));
        k++;
    }
    *why = FC_DATA_SKIP_MALFORMED;
    sbuf b = {0};
    fc_err e = build_question(instr, ctx, choices, n_img, &b);
    if (!e) e = fc_data_set_qa(r, b.s, ans);
    free(b.s);
    return e;
}

/* Reads the task in folder dir (named task): dir/task.json and dir/images/. */
static fc_err read_task(const char *dir, const char *task, const fc_data_opts *o, fc_dataset *out) {
    char json_name[300];
    snprintf(json_name, sizeof json_name, "%s.json", task);
    char *json = fc_path_join(dir, json_name), *img_dir = fc_path_join(dir, "images");
    cJSON *root = NULL;
    fc_err e = json && img_dir ? fc_data_load_json(json, &root) : FC_ENOMEM;
    const cJSON *meta = root ? cJSON_GetObjectItemCaseSensitive(root, "meta_data") : NULL;
    const cJSON *data = root ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL;
    const cJSON *instrs = meta ? cJSON_GetObjectItemCaseSensitive(meta, "task_instruction") : NULL;
    const char *qtype = meta ? fc_data_str(meta, "question_type") : NULL;
    if (!e && (!cJSON_IsObject(root) || !cJSON_IsObject(meta) || !cJSON_IsArray(data)))
        e = fc_err_set(FC_EFORMAT, "%s: want an object with 'meta_data' (object) and 'data' (list)", json);
    if (!e && !cJSON_IsArray(instrs))
        e = fc_err_set(FC_EFORMAT, "%s: meta_data has no list 'task_instruction'", json);
    const cJSON *it;
    int i = 0;
    if (!e) cJSON_ArrayForEach(it, instrs) {
        if (!cJSON_IsString(it)) {
            e = fc_err_set(FC_EFORMAT, "%s: meta_data.task_instruction[%d] is not a string", json, i);
            break;
        }
        i++;
    }
    bool multi = qtype && !strcmp(qtype, "multi-choice");
    int idx = 0;
    if (!e) cJSON_ArrayForEach(it, data) {
        if (o && o->limit > 0 && out->n >= o->limit) break;
        out->n_seen++;
        char id[400];
        const cJSON *sid = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "sample_id") : NULL;
        bool have_id = true;
        if (cJSON_IsString(sid)) snprintf(id, sizeof id, "%s/%.300s", task, sid->valuestring);
        else if (cJSON_IsNumber(sid)) {
            char num[32];
            snprintf(id, sizeof id, "%s/%s", task, fc_data_number_text(sid->valuedouble, num, sizeof num));
        }
        else have_id = false;
        fc_data_record *r;
        if ((e = fc_data_push(out, idx, &r))) break;
        fc_data_skip why = FC_DATA_SKIP_MALFORMED;
        if (!have_id) e = cJSON_IsObject(it) ? fc_err_set(FC_EFORMAT, "no 'sample_id'") : fc_err_set(FC_EFORMAT, "not a JSON object");
        else if (!(r->id = fc_strdup(id)) || !(r->task = fc_strdup(task))) e = FC_ENOMEM;
        else e = parse_sample(it, instrs, multi, img_dir, o, r, &why);
        if (e) {
            fc_data_pop(out);
            if ((e = fc_data_settle(out, o, json, idx, have_id ? id : NULL, e, why))) break;
        }
        idx++;
    }
    cJSON_Delete(root);
    free(json), free(img_dir);
    return e;
}

/* Is dir (whose last part is name) a task folder: dir/name.json and dir/images/? */
static bool is_task(const char *dir, const char *name) {
    char json_name[300], *json, *img;
    snprintf(json_name, sizeof json_name, "%s.json", name);
    json = fc_path_join(dir, json_name), img = fc_path_join(dir, "images");
    bool r = json && img && fc_file_exists(json) && is_dir(img);
    free(json), free(img);
    return r;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* Reads dir if it is a task folder, else every task folder below it (name order, MB_MAX_DEPTH deep). */
static fc_err walk(const char *dir, const char *name, int depth, const fc_data_opts *o, fc_dataset *out, int *tasks) {
    if (strlen(name) > 250) return FC_OK; /* no task has such a name; keeps the paths bounded */
    if (is_task(dir, name)) {
        (*tasks)++;
        return read_task(dir, name, o, out);
    }
    if (depth >= MB_MAX_DEPTH) return FC_OK;
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, name_cmp);
    if (n < 0) return fc_err_set(FC_EIO, "%s: cannot list the folder", dir);
    fc_err e = FC_OK;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (!e && nm[0] != '.' && !(o && o->limit > 0 && out->n >= o->limit)) {
            char *sub = fc_path_join(dir, nm);
            if (!sub) e = FC_ENOMEM;
            else if (is_dir(sub)) e = walk(sub, nm, depth + 1, o, out, tasks);
            free(sub);
        }
        free(ents[i]);
    }
    free(ents);
    return e;
}

fc_err fc_data_read_milebench(const char *path, const fc_data_opts *o, fc_dataset *out) {
    if (!is_dir(path)) return fc_err_set(FC_ENOTFOUND, "%s: not a folder (want a MileBench task folder X with X/X.json "
                                                       "and X/images/, or a folder above such task folders)", path);
    char *copy = fc_strdup(path);
    if (!copy) return FC_ENOMEM;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = 0; /* "task/" names the task "task" */
    const char *slash = strrchr(copy, '/');
    int tasks = 0;
    fc_err e = walk(copy, slash ? slash + 1 : copy, 0, o, out, &tasks);
    if (!e && tasks == 0)
        e = fc_err_set(FC_ENOTFOUND, "%s: no MileBench task folder (X with X/X.json and X/images/) in it", path);
    free(copy);
    return e;
}
