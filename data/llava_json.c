/* llava_json.c: the LLaVA conversation reader (llava_v1_5_mix665k layout; see dataset.h). */
#include <string.h>

#include "core/base/mem.h"
#include "data/dataset_internal.h"

static fc_err parse_role(const char *from, fc_data_role *role) {
    /* mix665k writes human/gpt; the FastCache demo file and other exports write user/assistant */
    if (!strcmp(from, "human") || !strcmp(from, "user")) return *role = FC_DATA_HUMAN, FC_OK;
    if (!strcmp(from, "gpt") || !strcmp(from, "assistant")) return *role = FC_DATA_GPT, FC_OK;
    return fc_err_set(FC_EFORMAT, "unknown speaker '%s' (want human or gpt)", from);
}

static fc_err parse_turns(fc_data_record *r, const cJSON *conv, fc_data_skip *why) {
    *why = FC_DATA_SKIP_MALFORMED;
    if (!cJSON_IsArray(conv)) return fc_err_set(FC_EFORMAT, "'conversations' is missing or not a list");
    int n = cJSON_GetArraySize(conv);
    if (n < 2) return fc_err_set(FC_EFORMAT, "%d turn%s in 'conversations' (want a human turn and a gpt answer)", n,
                                 n == 1 ? "" : "s");
    if (!(r->turns = fc_calloc((size_t)n, sizeof *r->turns, "dataset turns"))) return FC_ENOMEM;
    const cJSON *t;
    int k = 0;
    cJSON_ArrayForEach(t, conv) {
        const char *from = fc_data_str(t, "from"), *value = fc_data_str(t, "value");
        if (!cJSON_IsObject(t) || !from || !value)
            return fc_err_set(FC_EFORMAT, "conversations[%d] lacks a string 'from' or 'value'", k);
        fc_data_role role = FC_DATA_HUMAN;
        if (parse_role(from, &role)) return fc_err_prefix(FC_EFORMAT, "conversations[%d]", k);
        if (role != (k % 2 ? FC_DATA_GPT : FC_DATA_HUMAN))
            return fc_err_set(FC_EFORMAT, "conversations[%d] is a %s turn (turns alternate human, gpt, ...)", k,
                              role == FC_DATA_GPT ? "gpt" : "human");
        if (role == FC_DATA_GPT && fc_data_count_image_markers(value))
            return fc_err_set(FC_EFORMAT, "conversations[%d]: an <image> marker in a gpt turn", k);
        if (!(r->turns[k].text = fc_strdup(value))) return FC_ENOMEM;
        r->turns[k].role = role;
        r->n_turns = ++k;
    }
    if (n % 2) return fc_err_set(FC_EFORMAT, "conversations end with a human turn (no answer to it)");
    if (!(r->question = fc_data_strip_image_markers(r->turns[0].text))) return FC_ENOMEM;
    if (!(r->answer = fc_data_trim_dup(r->turns[1].text))) return FC_ENOMEM;
    if (!r->answer[0]) return fc_err_set(FC_EFORMAT, "conversations[1]: the answer is empty (nothing to score or learn)");
    return FC_OK;
}

static fc_err parse_images(fc_data_record *r, const cJSON *img, const char *dir, const fc_data_opts *o,
                           fc_data_skip *why) {
    *why = FC_DATA_SKIP_MALFORMED;
    if (cJSON_IsString(img)) return fc_data_add_image(r, dir, img->valuestring, o, why);
    if (!cJSON_IsArray(img)) return fc_err_set(FC_EFORMAT, "'image' is neither a path nor a list of paths");
    int k = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, img) {
        if (!cJSON_IsString(p)) return fc_err_set(FC_EFORMAT, "image[%d] is not a string", k);
        FC_TRY(fc_data_add_image(r, dir, p->valuestring, o, why));
        k++;
    }
    if (k == 0) return *why = FC_DATA_SKIP_NO_IMAGE, fc_err_set(FC_EFORMAT, "'image' is an empty list");
    return FC_OK;
}

/* Does the record's first image path start with the folder `prefix`? */
static bool prefix_matches(const cJSON *img, const char *prefix) {
    if (cJSON_IsArray(img)) img = cJSON_GetArrayItem(img, 0);
    if (!cJSON_IsString(img)) return false;
    size_t n = strlen(prefix);
    return !strncmp(img->valuestring, prefix, n) && img->valuestring[n] == '/';
}

static fc_err parse_record(const cJSON *item, const char *dir, const fc_data_opts *o, fc_data_record *r,
                           fc_data_skip *why) {
    *why = FC_DATA_SKIP_MALFORMED;
    if (!cJSON_IsObject(item)) return fc_err_set(FC_EFORMAT, "not a JSON object");
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(item, "image");
    if (o && o->image_prefix && !prefix_matches(img, o->image_prefix)) {
        *why = FC_DATA_SKIP_FILTERED;
        return fc_err_set(FC_EINVAL, "first image not under '%s/'", o->image_prefix);
    }
    FC_TRY(parse_turns(r, cJSON_GetObjectItemCaseSensitive(item, "conversations"), why));
    int markers = 0;
    for (int k = 0; k < r->n_turns; k += 2) markers += fc_data_count_image_markers(r->turns[k].text);
    if (!img || cJSON_IsNull(img)) {
        *why = FC_DATA_SKIP_NO_IMAGE;
        if (!(o && o->allow_text_only)) return fc_err_set(FC_EFORMAT, "no image (a text-only record)");
        *why = FC_DATA_SKIP_MALFORMED;
        if (markers) return fc_err_set(FC_EFORMAT, "%d <image> marker%s but no image", markers, markers > 1 ? "s" : "");
        return FC_OK;
    }
    FC_TRY(parse_images(r, img, dir, o, why));
    *why = FC_DATA_SKIP_MALFORMED;
    if (markers != r->n_images)
        return fc_err_set(FC_EFORMAT, "%d image%s but %d <image> marker%s in the human turns", r->n_images,
                          r->n_images > 1 ? "s" : "", markers, markers == 1 ? "" : "s");
    if (o && o->max_images > 0 && r->n_images > o->max_images) {
        *why = FC_DATA_SKIP_TOO_MANY_IMAGES;
        return fc_err_set(FC_EINVAL, "%d images, more than the %d allowed", r->n_images, o->max_images);
    }
    return FC_OK;
}

fc_err fc_data_read_llava(const char *path, const fc_data_opts *o, fc_dataset *out) {
    cJSON *root;
    FC_TRY(fc_data_load_json(path, &root));
    char *own_dir = NULL;
    const char *dir = o && o->images_dir ? o->images_dir : (own_dir = fc_data_dirname(path));
    fc_err e = dir ? FC_OK : FC_ENOMEM;
    if (!e && !cJSON_IsArray(root))
        e = fc_err_set(FC_EFORMAT, "%s: not a JSON array of conversation records", path);
    int idx = 0;
    const cJSON *item;
    if (!e) cJSON_ArrayForEach(item, root) {
        if (o && o->limit > 0 && out->n >= o->limit) break;
        out->n_seen++;
        char num[32]; /* a numeric id is printed, as the GQA reader does */
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(item, "id");
        const char *id = cJSON_IsString(idv) ? idv->valuestring
                         : cJSON_IsNumber(idv) ? fc_data_number_text(idv->valuedouble, num, sizeof num) : NULL;
        fc_data_record *r;
        if ((e = fc_data_push(out, idx, &r))) break;
        fc_data_skip why;
        if (!id) { /* every record needs its id: held-out checks compare ids */
            why = FC_DATA_SKIP_MALFORMED;
            e = cJSON_IsObject(item) ? fc_err_set(FC_EFORMAT, "no 'id' (string or number)") : fc_err_set(FC_EFORMAT, "not a JSON object");
        } else if (!(r->id = fc_strdup(id))) e = FC_ENOMEM;
        else e = parse_record(item, dir, o, r, &why);
        if (e) {
            fc_data_pop(out);
            if ((e = fc_data_settle(out, o, path, idx, id, e, why))) break;
        }
        idx++;
    }
    free(own_dir);
    cJSON_Delete(root);
    return e;
}
